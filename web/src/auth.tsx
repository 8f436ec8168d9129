import { useQueryClient } from '@tanstack/react-query';
import { useState, useSyncExternalStore } from 'react';
import { useForm } from 'react-hook-form';
import { api, ApiError, ok, refreshTokens } from './api/client';
import { session } from './api/session';
import { applyProblem, ErrorSummary, Field } from './components/forms';

export const useSession = () => useSyncExternalStore(session.subscribe, session.snapshot);

export async function login(username: string, password: string) {
  session.signedIn(await ok(api.POST('/api/auth/login', { body: { username, password } })));
}

export async function logout() {
  await api.POST('/api/auth/logout', { body: {} }).catch(() => undefined);
  session.signedOut();
}

/** On a reload the access token is gone (memory only): get a new one with the refresh token, if any. */
export async function resume(): Promise<boolean> {
  if (!session.snapshot().user) return false;
  if (await refreshTokens()) return true;
  session.expire();
  return false;
}

interface LoginValues {
  username: string;
  password: string;
}

/** The sign-in form: the login page, and the dialog shown over the page when a login runs out. */
export function LoginForm(props: { fixedUser?: string; onDone?: () => void; autoFocus?: boolean }) {
  const form = useForm<LoginValues>({ defaultValues: { username: props.fixedUser ?? '', password: '' } });
  const [summary, setSummary] = useState<string[]>([]);
  const queryClient = useQueryClient();
  const { errors, isSubmitting } = form.formState;
  const submit = form.handleSubmit(async (v) => {
    setSummary([]);
    try {
      await login(v.username.trim(), v.password);
      await queryClient.invalidateQueries();
      props.onDone?.();
    } catch (e) {
      form.setValue('password', '');
      const msgs = applyProblem(e, form, ['username', 'password']);
      if (e instanceof ApiError && e.status === 401) form.setFocus('password');
      setSummary(msgs);
    }
  });
  return (
    <form onSubmit={submit} noValidate className="login-form">
      <ErrorSummary messages={summary} />
      <Field label="用户名" error={errors.username?.message} required>
        {({ id, describedBy, invalid }) => (
          <input
            id={id}
            autoComplete="username"
            autoFocus={props.autoFocus && !props.fixedUser}
            readOnly={!!props.fixedUser}
            aria-invalid={invalid}
            aria-describedby={describedBy}
            {...form.register('username', { required: '请填写用户名' })}
          />
        )}
      </Field>
      <Field label="密码" error={errors.password?.message} required>
        {({ id, describedBy, invalid }) => (
          <input
            id={id}
            type="password"
            autoComplete="current-password"
            autoFocus={props.autoFocus && !!props.fixedUser}
            aria-invalid={invalid}
            aria-describedby={describedBy}
            {...form.register('password', { required: '请填写密码' })}
          />
        )}
      </Field>
      <button type="submit" className="primary" disabled={isSubmitting}>
        {isSubmitting ? '正在登录…' : '登录'}
      </button>
    </form>
  );
}
