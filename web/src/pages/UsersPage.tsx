import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { useForm } from 'react-hook-form';
import { api, ApiError, ok, type Schemas } from '../api/client';
import { formatTime, ORG_KIND_LABELS, ROLE_LABELS, type OrgKind, type Role } from '../api/labels';
import { LoadError, Loading } from '../components/bits';
import { Dialog } from '../components/Dialog';
import { applyProblem, DialogButtons, ErrorSummary, Field, useProblemSubmit } from '../components/forms';

type User = Schemas['User'];
interface NewUser {
  username: string;
  displayName: string;
  role: Role;
  orgCode: string;
  email: string;
  password: string;
}

/** Accounts: create, disable and enable, reset a password (the user changes it at the next login). */
export function UsersPage() {
  const q = useQuery({ queryKey: ['users'], queryFn: () => ok(api.GET('/api/admin/users')) });
  const queryClient = useQueryClient();
  const [notice, setNotice] = useState<string | null>(null);
  const [resetFor, setResetFor] = useState<User | null>(null);
  const [creating, setCreating] = useState(false);
  useEffect(() => {
    document.title = '用户 · 学籍异动';
  }, []);
  const toggle = async (u: User) => {
    setNotice(null);
    try {
      const path = u.active ? '/api/admin/users/{id}/disable' : '/api/admin/users/{id}/enable';
      await ok(api.POST(path, { params: { path: { id: u.id } } }));
      setNotice(u.active ? `已停用 ${u.username}，其登录已失效。` : `已启用 ${u.username}。`);
      await queryClient.invalidateQueries({ queryKey: ['users'] });
    } catch (e) {
      setNotice(e instanceof ApiError ? e.detail : String(e));
    }
  };
  /** The user phoned: it was her. The lock from failed logins goes at once (audited as user.unlock). */
  const unlock = async (u: User) => {
    setNotice(null);
    try {
      await ok(api.POST('/api/admin/users/{id}/unlock', { params: { path: { id: u.id } } }));
      setNotice(`已解除 ${u.username} 的登录锁定。`);
      await queryClient.invalidateQueries({ queryKey: ['users'] });
    } catch (e) {
      setNotice(e instanceof ApiError ? e.detail : String(e));
    }
  };
  return (
    <section>
      <h1>用户管理</h1>
      <p>
        <button type="button" className="primary" onClick={() => setCreating(true)}>
          新建用户
        </button>
      </p>
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      {q.isPending ? (
        <Loading what="用户" />
      ) : q.isError ? (
        <LoadError error={q.error} />
      ) : (
        <table className="list">
          <thead>
            <tr>
              <th scope="col">用户名</th>
              <th scope="col">姓名或称呼</th>
              <th scope="col">角色</th>
              <th scope="col">单位</th>
              <th scope="col">状态</th>
              <th scope="col">操作</th>
            </tr>
          </thead>
          <tbody>
            {q.data.items.map((u) => (
              <tr key={u.id} className={u.active ? undefined : 'row-disabled'}>
                <td data-label="用户名" className="mono">
                  {u.username}
                </td>
                <td data-label="姓名或称呼">{u.displayName}</td>
                <td data-label="角色">{ROLE_LABELS[u.role]}</td>
                <td data-label="单位">{u.orgName ?? '—'}</td>
                <td data-label="状态" className="small">
                  {u.active ? '启用' : '已停用'}
                  {u.lockedUntil && <div className="late">锁定至 {formatTime(u.lockedUntil)}</div>}
                  {u.mustChangePassword && <div className="muted">待修改密码</div>}
                </td>
                <td data-label="操作" className="row-actions">
                  <button
                    type="button"
                    className={u.active ? 'danger small' : 'secondary small'}
                    onClick={() => void toggle(u)}
                  >
                    {u.active ? '停用' : '启用'}
                  </button>
                  <button type="button" className="secondary small" onClick={() => setResetFor(u)}>
                    重置密码
                  </button>
                  {u.lockedUntil && (
                    <button type="button" className="primary small" onClick={() => void unlock(u)}>
                      解除锁定
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {creating && (
        <CreateUserDialog
          onClose={() => setCreating(false)}
          onDone={(u) => {
            setCreating(false);
            setNotice(`已新建用户 ${u.username}；首次登录时须修改密码。`);
            void queryClient.invalidateQueries({ queryKey: ['users'] });
          }}
        />
      )}
      {resetFor && (
        <ResetDialog
          user={resetFor}
          onClose={() => setResetFor(null)}
          onDone={() => {
            setNotice(`已重置 ${resetFor.username} 的密码；其登录已失效，下次登录须修改密码。`);
            setResetFor(null);
            void queryClient.invalidateQueries({ queryKey: ['users'] });
          }}
        />
      )}
    </section>
  );
}

function CreateUserDialog(props: { onClose: () => void; onDone: (u: User) => void }) {
  const form = useForm<NewUser>({
    defaultValues: { username: '', displayName: '', role: 'SCHOOL_CLERK', orgCode: '', email: '', password: '' },
  });
  const orgs = useQuery({
    queryKey: ['organisations'],
    queryFn: () => ok(api.GET('/api/organisations')),
    staleTime: 3_600_000,
  });
  const [summary, setSummary] = useState<string[]>([]);
  const { errors, isSubmitting } = form.formState;
  const role = form.watch('role');
  // A clerk belongs to a school; an officer to an education bureau: 省教育厅, 地市 or 区县教育局 (grouped, top down).
  const wanted: OrgKind[] = role === 'SCHOOL_CLERK' ? ['SCHOOL'] : ['PROVINCE', 'CITY', 'COUNTY'];
  const submit = form.handleSubmit(async (v) => {
    setSummary([]);
    try {
      const u = await ok(
        api.POST('/api/admin/users', {
          body: {
            username: v.username.trim(),
            displayName: v.displayName.trim(),
            role: v.role,
            orgCode: v.role === 'ADMIN' ? undefined : v.orgCode || undefined,
            email: v.email.trim() || undefined,
            password: v.password,
          },
        }),
      );
      props.onDone(u);
    } catch (e) {
      setSummary(
        applyProblem(e, form, ['username', 'displayName', 'role', 'orgCode', 'email', 'password'], { 409: 'username' }),
      );
    }
  });
  const input = (
    name: keyof NewUser,
    label: string,
    opts: { type?: string; hint?: string; required?: boolean } = {},
  ) => (
    <Field label={label} required={opts.required} error={errors[name]?.message} hint={opts.hint}>
      {({ id, describedBy, invalid }) => (
        <input
          id={id}
          type={opts.type ?? 'text'}
          autoComplete="off"
          aria-invalid={invalid}
          aria-describedby={describedBy}
          {...form.register(name, { required: opts.required ? `请填写${label}` : false })}
        />
      )}
    </Field>
  );
  return (
    <Dialog open title="新建用户" onClose={props.onClose}>
      <form onSubmit={submit} noValidate>
        <ErrorSummary messages={summary} />
        {input('username', '用户名', { required: true, hint: '2–64 个字母、数字、点、下划线或连字符' })}
        {input('displayName', '姓名或称呼', { required: true })}
        <Field label="角色" required error={errors.role?.message}>
          {({ id, describedBy }) => (
            <select id={id} aria-describedby={describedBy} {...form.register('role')}>
              {(Object.keys(ROLE_LABELS) as Role[]).map((r) => (
                <option key={r} value={r}>
                  {ROLE_LABELS[r]}
                </option>
              ))}
            </select>
          )}
        </Field>
        {role !== 'ADMIN' && (
          <Field
            label={role === 'SCHOOL_CLERK' ? '所属学校' : '所属教育局（区县、地市或省）'}
            required
            error={errors.orgCode?.message}
          >
            {({ id, describedBy, invalid }) => (
              <select
                id={id}
                aria-invalid={invalid}
                aria-describedby={describedBy}
                {...form.register('orgCode', { required: '请选择所属单位' })}
              >
                <option value="">请选择</option>
                {wanted.map((kind) => {
                  const of = (orgs.data?.items ?? []).filter((o) => o.kind === kind);
                  const options = of.map((o) => (
                    <option key={o.code} value={o.code}>
                      {o.name}（{o.code}）
                    </option>
                  ));
                  return wanted.length > 1 ? (
                    <optgroup key={kind} label={ORG_KIND_LABELS[kind]}>
                      {options}
                    </optgroup>
                  ) : (
                    options
                  );
                })}
              </select>
            )}
          </Field>
        )}
        {input('email', '邮箱（接收催办提醒，可不填）', { type: 'email' })}
        {input('password', '初始密码', {
          type: 'password',
          required: true,
          hint: '至少 10 个字符；用户首次登录后须修改',
        })}
        <div className="dialog-buttons">
          <button type="submit" className="primary" disabled={isSubmitting}>
            新建
          </button>
          <button type="button" className="secondary" onClick={props.onClose}>
            取消
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function ResetDialog(props: { user: User; onClose: () => void; onDone: () => void }) {
  const form = useForm<{ password: string }>({ defaultValues: { password: '' } });
  const { submit, summary } = useProblemSubmit(form, ['password'], async (v) => {
    await ok(
      api.POST('/api/admin/users/{id}/reset-password', {
        params: { path: { id: props.user.id } },
        body: { password: v.password },
      }),
    );
    props.onDone();
  });
  return (
    <Dialog open title={`重置 ${props.user.username} 的密码`} onClose={props.onClose}>
      <form onSubmit={submit} noValidate>
        <ErrorSummary messages={summary} />
        <Field
          label="临时密码"
          required
          error={form.formState.errors.password?.message}
          hint="至少 10 个字符；请当面或电话告知用户，用户登录后须修改。"
        >
          {({ id, describedBy, invalid }) => (
            <input
              id={id}
              type="password"
              autoComplete="new-password"
              autoFocus
              aria-invalid={invalid}
              aria-describedby={describedBy}
              {...form.register('password', { required: '请填写临时密码' })}
            />
          )}
        </Field>
        <DialogButtons label="重置" busy={form.formState.isSubmitting} back="取消" onBack={props.onClose} />
      </form>
    </Dialog>
  );
}
