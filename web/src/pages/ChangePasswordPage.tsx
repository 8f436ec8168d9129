import { useEffect, useState } from 'react';
import { useForm } from 'react-hook-form';
import { api, ok } from '../api/client';
import { session } from '../api/session';
import { logout } from '../auth';
import { applyProblem, ErrorSummary, Field } from '../components/forms';

interface Values {
  currentPassword: string;
  newPassword: string;
  repeat: string;
}

/** Change one's password; forced after an administrator's reset (every other page is refused until then). */
export function ChangePasswordPage({ forced = false }: { forced?: boolean }) {
  const form = useForm<Values>({ defaultValues: { currentPassword: '', newPassword: '', repeat: '' } });
  const [summary, setSummary] = useState<string[]>([]);
  const [done, setDone] = useState(false);
  const { errors, isSubmitting } = form.formState;
  useEffect(() => {
    document.title = '修改密码 · 学籍异动';
  }, []);
  const submit = form.handleSubmit(async (v) => {
    setSummary([]);
    try {
      await ok(
        api.POST('/api/auth/change-password', {
          body: { currentPassword: v.currentPassword, newPassword: v.newPassword },
        }),
      );
      form.reset();
      setDone(true);
      session.passwordChanged();
    } catch (e) {
      setSummary(applyProblem(e, form, ['currentPassword', 'newPassword']));
    }
  });
  const field = (name: keyof Values, label: string, autoComplete: string, hint?: string) => (
    <Field label={label} required error={errors[name]?.message} hint={hint}>
      {({ id, describedBy, invalid }) => (
        <input
          id={id}
          type="password"
          autoComplete={autoComplete}
          aria-invalid={invalid}
          aria-describedby={describedBy}
          {...form.register(name, {
            required: `请填写${label}`,
            validate:
              name === 'repeat' ? (r) => r === form.getValues('newPassword') || '两次输入的新密码不一致' : undefined,
          })}
        />
      )}
    </Field>
  );
  const Tag = forced ? 'main' : 'section';
  return (
    <Tag className={forced ? 'login-page' : 'form-page'}>
      <h1>修改密码</h1>
      {forced && <p>管理员已为您重置密码，请先设置自己的新密码。</p>}
      {done && (
        <p className="notice" role="status">
          密码已修改，您在其他设备上的登录已退出。
        </p>
      )}
      <form onSubmit={submit} noValidate>
        <ErrorSummary messages={summary} />
        {field('currentPassword', '当前密码', 'current-password')}
        {field('newPassword', '新密码', 'new-password', '至少 10 个字符，不能与用户名相同')}
        {field('repeat', '再次输入新密码', 'new-password')}
        <div className="form-buttons">
          <button type="submit" className="primary" disabled={isSubmitting}>
            修改密码
          </button>
          {forced && (
            <button type="button" className="link" onClick={() => void logout()}>
              退出
            </button>
          )}
        </div>
      </form>
    </Tag>
  );
}
