import { hash, verify } from '@node-rs/argon2';
import type { RequestHandler } from 'express';
import { jwtVerify, SignJWT } from 'jose';
import type { PrismaClient } from '../infra/db';
import type { Actor, Role } from '../domain/types';
import { forbidden, unauthenticated } from './errors';

/** The caller, loaded from the database on every request so a disabled account stops at once. */
export interface AuthUser extends Actor {
  orgName: string | null;
  /** For a school: its county bureau; for a bureau: itself. */
  countyCode: string | null;
}

declare module 'express-serve-static-core' {
  interface Request {
    user?: AuthUser;
  }
}

// argon2id with the library's defaults (19 MiB, t=2): OWASP's minimum recommendation.
export const hashPassword = (password: string) => hash(password);
export const verifyPassword = (passwordHash: string, password: string) => verify(passwordHash, password);

export class TokenService {
  private readonly key: Uint8Array;
  constructor(
    secret: string,
    private readonly ttl: string,
  ) {
    this.key = new TextEncoder().encode(secret);
  }

  sign(userId: number, username: string): Promise<string> {
    return new SignJWT({ username })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(String(userId))
      .setIssuedAt()
      .setExpirationTime(this.ttl)
      .sign(this.key);
  }

  async verify(token: string): Promise<number | null> {
    try {
      const { payload } = await jwtVerify(token, this.key, { algorithms: ['HS256'] });
      const id = Number(payload.sub);
      return Number.isInteger(id) ? id : null;
    } catch {
      return null;
    }
  }
}

export function authenticate(prisma: PrismaClient, tokens: TokenService): RequestHandler {
  return async (req, _res, next) => {
    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) return next(unauthenticated());
    const userId = await tokens.verify(match[1]);
    if (userId === null) return next(unauthenticated());
    const user = await prisma.user.findUnique({ where: { id: userId }, include: { org: true } });
    if (!user || !user.active) return next(unauthenticated('账号不存在或已停用'));
    req.user = {
      userId: user.id,
      username: user.username,
      displayName: user.displayName,
      role: user.role as Role,
      orgCode: user.orgCode,
      orgName: user.org?.name ?? null,
      countyCode: user.org ? (user.org.kind === 'COUNTY' ? user.org.code : user.org.parentCode) : null,
    };
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
