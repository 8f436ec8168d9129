import { Router, type Request } from 'express';
import { rateLimit } from 'express-rate-limit';
import type { AppDeps } from '../app';
import { authenticate, currentUser, passwordProblem, resolveCaller, verifyPassword, hashPassword } from '../auth';
import { badRequest, tooManyRequests, unauthenticated } from '../errors';
import { body as requestBody, json, problem, secured, type OpenAPIRegistry } from '../openapi-helpers';
import { parse } from '../schemas/common';
import {
  ChangePasswordBodySchema,
  LoginBodySchema,
  LoginResponseSchema,
  LogoutBodySchema,
  RefreshBodySchema,
} from '../schemas/auth';
import { revokeSession, rotateRefreshToken, sessionOfRefreshToken, UnknownUserLockout } from '../sessions';
import {
  auditRefreshReused,
  auditRefusedLogin,
  countLoginFailure,
  endLogin,
  findUserById,
  findUserByUsername,
  loadUser,
  savePassword,
  startLogin,
} from '../services/logins';
import type { Organisation, User } from '../../generated/prisma/client';

// A real hash to verify against when the user does not exist, so timing does not reveal usernames.
const DUMMY_HASH = '$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$ZqSIbvRJ3Nx8u6JkGkqTw3nKDC1yPhNwF8rSO3nuc3I';
const BAD_CREDENTIALS = '用户名或密码不正确';

const minutes = (ms: number) => Math.max(1, Math.ceil(ms / 60_000));
const lockedError = (ms: number) =>
  tooManyRequests(`登录失败次数过多，账号已被暂时锁定，请 ${minutes(ms)} 分钟后再试`, ms / 1000);

/**
 * A failed login, saying how many attempts are left before the lock. Counted per username as typed, the same way
 * for an existing and an unknown one, so the answer tells nobody whether a username exists.
 */
const badCredentials = (attemptsLeft: number, lockMs: number) =>
  Object.assign(
    unauthenticated(
      `${BAD_CREDENTIALS}。再输错 ${attemptsLeft} 次，该账号将被锁定 ${minutes(lockMs)} 分钟` +
        '（忘记密码请联系系统管理员重置）',
    ),
    { extensions: { attemptsLeft } },
  );

const sessionUser = (user: User & { org: Organisation | null }) => ({
  username: user.username,
  displayName: user.displayName,
  role: user.role,
  orgCode: user.orgCode,
  orgName: user.org?.name ?? null,
  orgKind: user.org?.kind ?? null,
  mustChangePassword: user.mustChangePassword,
});

const clientOf = (req: Request) => ({ ip: req.ip, userAgent: req.get('user-agent') });

export function authRoutes({ prisma, tokens, security }: AppDeps): Router {
  const r = Router();
  const unknownUsers = new UnknownUserLockout(security.maxFailedLogins, security.lockMs);

  /**
   * Per client address: failed (and still running) logins per window, in this process's memory. A
   * successful login gives its count back, so a school's clerks behind one NAT address do not lock each
   * other out; an address spraying passwords over many accounts is stopped before argon2 runs.
   */
  const perAddress = rateLimit({
    windowMs: security.loginIpWindowMs,
    limit: security.loginIpLimit,
    skipSuccessfulRequests: true,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    handler: (_req, res, next) => {
      const seconds = Number(res.getHeader('Retry-After')) || security.loginIpWindowMs / 1000;
      next(tooManyRequests(`此网络地址的登录尝试过多，请 ${minutes(seconds * 1000)} 分钟后再试`, seconds));
    },
  });

  /** One more consecutive failure for an existing account (services/logins.ts): locks it at the limit. */
  const countFailure = (user: User, reason: string, req: Request) =>
    countLoginFailure(prisma, user, reason, req.ip, security);

  /**
   * 200 {token, refreshToken, expiresIn, user}; 400 missing fields; 401 bad credentials or disabled
   * account (one message: an unknown username looks like a wrong password, and costs the same argon2
   * time); 429 with Retry-After while the account is locked (after LOGIN_MAX_FAILURES consecutive
   * failures, for LOGIN_LOCK_DURATION, even with the right password) or the address is throttled.
   */
  r.post('/login', perAddress, async (req, res) => {
    const body = parse(LoginBodySchema, req.body);
    const user = await findUserByUsername(prisma, body.username);
    const now = Date.now();
    const lockedMs = user ? (user.lockedUntil?.getTime() ?? 0) - now : unknownUsers.lockedFor(body.username, now);
    if (lockedMs > 0) {
      await auditRefusedLogin(prisma, {
        action: 'auth.login_failed',
        ...(user ? { userId: user.id } : {}),
        username: body.username,
        reason: 'locked',
        ip: req.ip,
      });
      throw lockedError(lockedMs);
    }
    const ok = await verifyPassword(user?.passwordHash ?? DUMMY_HASH, body.password).catch(() => false);
    if (!user) {
      const locked = unknownUsers.fail(body.username);
      await auditRefusedLogin(prisma, {
        action: locked ? 'auth.locked' : 'auth.login_failed',
        username: body.username,
        reason: 'unknown_user',
        ip: req.ip,
      });
      throw locked
        ? lockedError(locked)
        : badCredentials(security.maxFailedLogins - unknownUsers.failures(body.username), security.lockMs);
    }
    // A disabled account answers as a wrong password does (and counts like one): the answer does not tell
    // whether the password was right.
    if (!ok || !user.active) {
      const { locked, attemptsLeft } = await countFailure(user, ok ? 'disabled' : 'wrong_password', req);
      throw locked ? lockedError(locked) : badCredentials(attemptsLeft, security.lockMs);
    }
    const session = await startLogin(prisma, user, security.sessionTtlMs, clientOf(req));
    if (!session) throw lockedError(security.lockMs);
    res.json({
      token: await tokens.sign(user.id, user.username, session.sessionId),
      refreshToken: session.refreshToken,
      expiresIn: tokens.expiresIn,
      user: sessionUser(user),
    });
  });

  /**
   * 200 a new access token and a new refresh token (the old one is spent); 401 when the refresh token
   * is unknown, expired, revoked or already used — a reused one revokes its session.
   */
  r.post('/refresh', async (req, res) => {
    const body = parse(RefreshBodySchema, req.body);
    const out = await rotateRefreshToken(prisma, body.refreshToken);
    if (!out.ok) {
      if (out.reason === 'reused') {
        await auditRefreshReused(prisma, out.sessionId, out.userId, req.ip);
        throw unauthenticated('此刷新令牌已使用过，为安全起见该登录已失效，请重新登录');
      }
      throw unauthenticated('登录已失效，请重新登录');
    }
    const user = await findUserById(prisma, out.userId);
    if (!user || !user.active) {
      await revokeSession(prisma, out.sessionId);
      throw unauthenticated('账号不存在或已停用');
    }
    res.json({
      token: await tokens.sign(user.id, user.username, out.sessionId),
      refreshToken: out.refreshToken,
      expiresIn: tokens.expiresIn,
      user: sessionUser(user),
    });
  });

  /** 204: the login is over, its access and refresh tokens refused from now on. With the access token, or the refresh token alone. */
  r.post('/logout', async (req, res) => {
    let sessionId: string;
    let actor: { userId: number; displayName: string; orgCode: string | null; username: string };
    if (req.headers.authorization) {
      const u = await resolveCaller(prisma, tokens, req.headers.authorization);
      sessionId = u.sessionId;
      actor = u;
    } else {
      const body = parse(LogoutBodySchema, req.body);
      const session = body.refreshToken ? await sessionOfRefreshToken(prisma, body.refreshToken) : null;
      if (!session || session.revokedAt) throw unauthenticated();
      const user = await loadUser(prisma, session.userId);
      sessionId = session.id;
      actor = { userId: user.id, displayName: user.displayName, orgCode: user.orgCode, username: user.username };
    }
    await endLogin(prisma, sessionId, actor);
    res.status(204).end();
  });

  /**
   * 204: the password is changed, a pending reset cleared, and every other login of the user ended
   * (this one goes on). 400 naming the field: wrong current password (counts towards the lockout, so a
   * stolen access token cannot be used to guess it), a new password too short, equal to the username or
   * to the current one.
   */
  r.post('/change-password', authenticate(prisma, tokens, { allowPendingPasswordChange: true }), async (req, res) => {
    const u = currentUser(req);
    const body = parse(ChangePasswordBodySchema, req.body);
    const user = await loadUser(prisma, u.userId);
    const lockedMs = (user.lockedUntil?.getTime() ?? 0) - Date.now();
    if (lockedMs > 0) throw lockedError(lockedMs);
    if (!(await verifyPassword(user.passwordHash, body.currentPassword).catch(() => false))) {
      const { locked } = await countFailure(user, 'wrong_current_password', req);
      if (locked) throw lockedError(locked);
      throw badRequest('当前密码不正确', [{ path: 'currentPassword', message: '当前密码不正确' }]);
    }
    const problemText =
      body.newPassword === body.currentPassword
        ? '新密码不能与当前密码相同'
        : passwordProblem(body.newPassword, user.username);
    if (problemText) throw badRequest(problemText, [{ path: 'newPassword', message: problemText }]);
    const passwordHash = await hashPassword(body.newPassword);
    await savePassword(prisma, user, u, passwordHash);
    res.status(204).end();
  });

  return r;
}

export function registerAuthPaths(reg: OpenAPIRegistry) {
  reg.registerPath({
    method: 'post',
    path: '/api/auth/refresh',
    summary: '换取新的访问令牌（刷新令牌随之更换）',
    request: requestBody(RefreshBodySchema),
    responses: {
      200: json(LoginResponseSchema, '新的访问令牌和刷新令牌'),
      401: problem('刷新令牌无效、已过期、已撤销或已使用过（已使用过的令牌使该登录失效）'),
    },
  });
  reg.registerPath({
    method: 'post',
    path: '/api/auth/logout',
    summary: '退出登录（该登录的令牌随即失效）',
    security: secured,
    request: requestBody(LogoutBodySchema),
    responses: { 204: { description: '已退出' }, 401: problem('令牌无效') },
  });
  reg.registerPath({
    method: 'post',
    path: '/api/auth/change-password',
    summary: '修改密码（其他登录随即失效）',
    security: secured,
    request: requestBody(ChangePasswordBodySchema),
    responses: {
      204: { description: '已修改' },
      400: problem('当前密码不正确，或新密码不符合要求'),
      401: problem('未登录'),
      429: problem('失败次数过多，账号已暂时锁定'),
    },
  });
}
