import { webcrypto } from 'node:crypto';
import type { RequestHandler } from 'express';
import { jwtVerify, SignJWT } from 'jose';
import { durationMs } from '../config';
import type { PrismaClient } from '../infra/db';
import type { AuditActor } from '../infra/audit';
import type { Actor, Role } from '../domain/types';
import { forbidden, unauthenticated } from './errors';
import { TtlCache } from '../infra/ttl-cache';

/** The caller, loaded from the database on every request so a disabled account stops at once. */
export interface AuthUser extends Actor {
  orgName: string | null;
  /** For a school: its county bureau; for a bureau: itself. */
  countyCode: string | null;
  /** The login (Session row) the access token belongs to; absent for callers built outside a request. */
  sessionId?: string;
  /** Set by an administrator's reset: every route but change-password, logout and refresh answers 403. */
  mustChangePassword?: boolean;
}

/** The caller of an authenticated request: always with its session. */
export type SessionUser = AuthUser & { sessionId: string; mustChangePassword: boolean };

declare module 'express-serve-static-core' {
  interface Request {
    user?: AuthUser;
  }
}

export { hashPassword, verifyPassword } from '../infra/passwords';

export const MIN_PASSWORD_LENGTH = 10;

/** Why a new password is refused, or null. Length is what matters most (NIST SP 800-63B), not symbol rules. */
export function passwordProblem(password: string, username: string, label = '新密码'): string | null {
  if (Array.from(password).length < MIN_PASSWORD_LENGTH) return `${label}至少 ${MIN_PASSWORD_LENGTH} 个字符`;
  if (password.trim().toLowerCase() === username.trim().toLowerCase()) return `${label}不能与用户名相同`;
  if (/^(.)\1*$/u.test(password)) return `${label}不能是同一个字符的重复`;
  return null;
}

export interface AccessClaims {
  userId: number;
  sessionId: string;
}

/**
 * Short-lived access tokens: JWT, HS256 only (jose refuses `alg: none` and any other algorithm), naming
 * the user (`sub`) and the login (`sid`). The token alone is never enough: `authenticate` also checks
 * that the session is neither revoked nor expired and that the account is active.
 */
export class TokenService {
  /**
   * The HMAC key, imported once: given the secret's bytes, jose imports them into WebCrypto on every call (about 40 µs
   * of each request's CPU here).
   */
  private readonly key: Promise<webcrypto.CryptoKey>;
  /** Seconds an access token is valid, as told to the client (`expiresIn`). */
  readonly expiresIn: number;
  constructor(
    secret: string,
    private readonly ttl: string,
  ) {
    this.key = webcrypto.subtle.importKey(
      'raw',
      new TextEncoder().encode(secret),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign', 'verify'],
    );
    this.expiresIn = Math.round(durationMs(ttl) / 1000);
  }

  async sign(userId: number, username: string, sessionId: string): Promise<string> {
    return new SignJWT({ username, sid: sessionId })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(String(userId))
      .setIssuedAt()
      .setExpirationTime(this.ttl)
      .sign(await this.key);
  }

  async verify(token: string): Promise<AccessClaims | null> {
    try {
      const { payload } = await jwtVerify(token, await this.key, {
        algorithms: ['HS256'],
        requiredClaims: ['exp', 'sub'],
      });
      const userId = Number(payload.sub);
      const sessionId = payload.sid;
      if (!Number.isSafeInteger(userId) || typeof sessionId !== 'string' || !sessionId) return null;
      return { userId, sessionId };
    } catch {
      return null;
    }
  }
}

export const MUST_CHANGE_PASSWORD = '请先修改密码';

/**
 * Who a session belongs to, read once per AUTH_CACHE_MS per API process instead of on every request (DESIGN §5
 * "Caches of who may act"): ending a session, disabling a user or a password reset reaches every other process
 * within that time, and this one at once (forgetCachedSessions).
 */
export const AUTH_CACHE_MS = 5_000;
const sessions = new TtlCache<string, Awaited<ReturnType<typeof loadSession>>>(AUTH_CACHE_MS);

function loadSession(prisma: PrismaClient, sessionId: string) {
  return prisma.session.findUnique({
    where: { id: sessionId },
    select: {
      id: true,
      userId: true,
      revokedAt: true,
      expiresAt: true,
      user: {
        select: {
          id: true,
          username: true,
          displayName: true,
          role: true,
          orgCode: true,
          active: true,
          mustChangePassword: true,
          org: { select: { name: true, kind: true, code: true, parentCode: true } },
        },
      },
    },
  });
}

/** Drops this process's cached sessions: called wherever a session ends or an account changes. */
export function forgetCachedSessions(): void {
  sessions.clear();
}

/** The caller of a request with `Authorization: Bearer <access token>`, or the 401 to answer. */
export async function resolveCaller(
  prisma: PrismaClient,
  tokens: TokenService,
  authorization: string | undefined,
): Promise<SessionUser> {
  const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
  if (!match) throw unauthenticated();
  const claims = await tokens.verify(match[1]);
  if (!claims) throw unauthenticated();
  const session = await sessions.get(claims.sessionId, () => loadSession(prisma, claims.sessionId));
  // A token naming another user's session is as good as forged.
  if (!session || session.userId !== claims.userId) throw unauthenticated();
  if (session.revokedAt || session.expiresAt.getTime() <= Date.now()) {
    throw unauthenticated('登录已失效（已退出、密码已修改或已超时），请重新登录');
  }
  const user = session.user;
  if (!user.active) throw unauthenticated('账号不存在或已停用');
  return {
    userId: user.id,
    username: user.username,
    displayName: user.displayName,
    role: user.role as Role,
    orgCode: user.orgCode,
    orgName: user.org?.name ?? null,
    countyCode: user.org ? (user.org.kind === 'COUNTY' ? user.org.code : user.org.parentCode) : null,
    sessionId: session.id,
    mustChangePassword: user.mustChangePassword,
  };
}

/**
 * Checks the access token, its session and the account on every request. While an administrator's
 * reset is pending the caller may only change the password (and log out): `allowPendingPasswordChange`.
 */
export function authenticate(
  prisma: PrismaClient,
  tokens: TokenService,
  opts: { allowPendingPasswordChange?: boolean } = {},
): RequestHandler {
  return async (req, _res, next) => {
    try {
      req.user = await resolveCaller(prisma, tokens, req.headers.authorization);
    } catch (e) {
      return next(e);
    }
    if (req.user.mustChangePassword && !opts.allowPendingPasswordChange) return next(forbidden(MUST_CHANGE_PASSWORD));
    next();
  };
}

export function requireRole(...roles: Role[]): RequestHandler {
  return (req, _res, next) => {
    if (!req.user || !roles.includes(req.user.role)) return next(forbidden('您的账号没有此项操作的权限'));
    next();
  };
}

export function currentUser(req: { user?: AuthUser }): AuthUser {
  if (!req.user) throw unauthenticated();
  return req.user;
}

/** Actor as passed into the workflow (no display-only fields). */
export function actorOf(u: AuthUser): Actor {
  return { userId: u.userId, username: u.username, displayName: u.displayName, role: u.role, orgCode: u.orgCode };
}

/** Actor as written to the audit trail. */
export function auditActorOf(u: Pick<AuthUser, 'userId' | 'displayName' | 'orgCode'>): AuditActor {
  return { userId: u.userId, displayName: u.displayName, orgCode: u.orgCode };
}
