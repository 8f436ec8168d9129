import { Router, type RequestHandler } from 'express';
import type { AppDeps } from '../app';
import { auditActorOf, currentUser, hashPassword, passwordProblem, requireRole } from '../auth';
import { badRequest, ruleViolation } from '../errors';
import { body as requestBody, json, problem, secured, type OpenAPIRegistry } from '../openapi-helpers';
import { parse } from '../schemas/common';
import {
  CreateUserBodySchema,
  ResetPasswordBodySchema,
  UserIdParamsSchema,
  UserListSchema,
  UserSchema,
} from '../schemas/users';
import { changeUser, createUser, listUsers, loadUser, unlockUser } from '../services/users';
import type { Organisation, User } from '../../generated/prisma/client';

const iso = (d: Date | null) => d?.toISOString() ?? null;

/** A user as the API shows it: never the password hash or the failure counter. */
const userDto = (u: User & { org: Organisation | null }) => ({
  id: u.id,
  username: u.username,
  displayName: u.displayName,
  role: u.role,
  orgCode: u.orgCode,
  orgName: u.org?.name ?? null,
  email: u.email,
  active: u.active,
  mustChangePassword: u.mustChangePassword,
  lockedUntil: u.lockedUntil && u.lockedUntil.getTime() > Date.now() ? u.lockedUntil.toISOString() : null,
  passwordChangedAt: iso(u.passwordChangedAt),
  createdAt: u.createdAt.toISOString(),
});

function checkPassword(password: string, username: string) {
  const p = passwordProblem(password, username, '密码');
  if (p) throw badRequest(p, [{ path: 'password', message: p }]);
}

/** Accounts, for administrators: create, disable, re-enable, reset a password. Every change is audited with it. */
export function userRoutes({ prisma }: AppDeps): Router {
  const r = Router();
  r.use(requireRole('ADMIN'));

  r.get('/', async (_req, res) => {
    const users = await listUsers(prisma);
    res.json({ items: users.map(userDto) });
  });

  /** 201 the user; 400 naming fields; 409 username taken; 422 the organisation does not fit the role. */
  r.post('/', async (req, res) => {
    const admin = currentUser(req);
    const body = parse(CreateUserBodySchema, req.body);
    checkPassword(body.password, body.username);
    const created = await createUser(prisma, auditActorOf(admin), body);
    res.status(201).json(userDto(created));
  });

  /**
   * Disables an account (its logins end at once: its tokens answer 401), re-enables one (a lock from
   * failed logins is lifted too), or resets its password (a temporary one the user must change at the
   * next login; its logins end). Each with its audit event in the same transaction.
   */
  const change =
    (action: 'disable' | 'enable' | 'reset_password'): RequestHandler =>
    async (req, res) => {
      const admin = currentUser(req);
      const { id } = parse(UserIdParamsSchema, req.params);
      const body = action === 'reset_password' ? parse(ResetPasswordBodySchema, req.body) : null;
      const user = await loadUser(prisma, id);
      if (action === 'disable' && user.id === admin.userId) {
        throw ruleViolation('不能停用自己的账号（请由另一位管理员操作）');
      }
      if (body) checkPassword(body.password, user.username);
      const passwordHash = body ? await hashPassword(body.password) : null;
      const updated = await changeUser(prisma, auditActorOf(admin), id, action, passwordHash);
      res.json(userDto(updated));
    };
  r.post('/:id/disable', change('disable'));
  r.post('/:id/enable', change('enable'));
  r.post('/:id/reset-password', change('reset_password'));

  /**
   * Lifts a lock from failed logins at once (the user phoned: it was her, she remembers the password now), and
   * clears the failure count. Audited as user.unlock with the lock it lifted; 409 when the account is not locked.
   */
  r.post('/:id/unlock', async (req, res) => {
    const admin = currentUser(req);
    const { id } = parse(UserIdParamsSchema, req.params);
    const updated = await unlockUser(prisma, auditActorOf(admin), id);
    res.json(userDto(updated));
  });
  return r;
}

export function registerUserPaths(reg: OpenAPIRegistry) {
  const base = '/api/admin/users';
  reg.registerPath({
    method: 'get',
    path: base,
    summary: '用户列表（管理员）',
    security: secured,
    responses: { 200: json(UserListSchema, '用户'), 403: problem('非管理员') },
  });
  reg.registerPath({
    method: 'post',
    path: base,
    summary: '新建用户（管理员）',
    security: secured,
    request: requestBody(CreateUserBodySchema),
    responses: {
      201: json(UserSchema, '已新建'),
      400: problem('字段有误或密码不符合要求'),
      403: problem('非管理员'),
      409: problem('用户名已被使用'),
      422: problem('单位不存在或与角色不符'),
    },
  });
  for (const [action, summary] of [
    ['disable', '停用账号（其登录随即失效）'],
    ['enable', '重新启用账号（并解除登录锁定）'],
  ] as const) {
    reg.registerPath({
      method: 'post',
      path: `${base}/{id}/${action}`,
      summary,
      security: secured,
      request: { params: UserIdParamsSchema },
      responses: { 200: json(UserSchema, '已更新'), 403: problem('非管理员'), 404: problem('用户不存在') },
    });
  }
  reg.registerPath({
    method: 'post',
    path: `${base}/{id}/unlock`,
    summary: '解除登录锁定（连续输错密码后的锁定；记入审计）',
    security: secured,
    request: { params: UserIdParamsSchema },
    responses: {
      200: json(UserSchema, '已解除'),
      403: problem('非管理员'),
      404: problem('用户不存在'),
      409: problem('该账号没有被锁定'),
    },
  });
  reg.registerPath({
    method: 'post',
    path: `${base}/{id}/reset-password`,
    summary: '重置密码（用户下次登录须先修改；其登录随即失效）',
    security: secured,
    request: { params: UserIdParamsSchema, ...requestBody(ResetPasswordBodySchema) },
    responses: {
      200: json(UserSchema, '已重置'),
      400: problem('密码不符合要求'),
      403: problem('非管理员'),
      404: problem('用户不存在'),
    },
  });
}
