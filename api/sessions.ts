import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Prisma } from '../generated/prisma/client';
import type { PrismaClient } from '../infra/db';
import { forgetCachedSessions } from './auth';

type Tx = Prisma.TransactionClient;

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * A refresh token is `<session id>.<32 random bytes, base64url>`. Only its sha256 is stored; the session
 * id in front lets a token that no longer matches (an old one, replayed after rotation) be traced to its
 * session, which is then revoked: whoever holds the stolen copy and the rightful client both lose it.
 */
function newRefreshToken(sessionId: string) {
  const token = `${sessionId}.${randomBytes(32).toString('base64url')}`;
  return { token, hash: sha256(token) };
}

function sessionIdOf(refreshToken: string): string | null {
  const [id, secret, ...rest] = refreshToken.split('.');
  return rest.length === 0 && UUID.test(id ?? '') && /^[A-Za-z0-9_-]{43}$/.test(secret ?? '') ? id : null;
}

const sameHash = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

export interface NewSession {
  sessionId: string;
  refreshToken: string;
  expiresAt: Date;
}

/** Starts a login inside the caller's transaction (with its audit event). */
export async function createSession(
  tx: Tx,
  userId: number,
  ttlMs: number,
  client: { userAgent?: string; ip?: string },
): Promise<NewSession> {
  const sessionId = randomUUID();
  const { token, hash } = newRefreshToken(sessionId);
  const expiresAt = new Date(Date.now() + ttlMs);
  // The user's logins that ended over a week ago are of no more use (reuse detection needs only live ones).
  await tx.session.deleteMany({ where: { userId, expiresAt: { lt: new Date(Date.now() - 7 * 86_400_000) } } });
  await tx.session.create({
    data: {
      id: sessionId,
      userId,
      refreshHash: hash,
      expiresAt,
      userAgent: client.userAgent?.slice(0, 120),
      ip: client.ip?.slice(0, 64),
    },
  });
  return { sessionId, refreshToken: token, expiresAt };
}

export type RefreshOutcome =
  | { ok: true; sessionId: string; userId: number; refreshToken: string }
  | {
      ok: false;
      reason: 'malformed' | 'unknown' | 'expired' | 'revoked' | 'reused';
      sessionId?: string;
      userId?: number;
    };

/**
 * Rotates a refresh token: the presented one must be the session's current one. A token that names a
 * live session but is not its current token has been used before (or was forged from a leaked session
 * id): the session is revoked. The compare-and-swap on the stored hash also settles two refreshes
 * racing with the same token — one wins, the other counts as reuse.
 */
export async function rotateRefreshToken(prisma: PrismaClient, presented: string): Promise<RefreshOutcome> {
  const sessionId = sessionIdOf(presented);
  if (!sessionId) return { ok: false, reason: 'malformed' };
  const session = await prisma.session.findUnique({ where: { id: sessionId } });
  if (!session) return { ok: false, reason: 'unknown' };
  const base = { sessionId, userId: session.userId };
  if (session.revokedAt) return { ok: false, reason: 'revoked', ...base };
  if (session.expiresAt.getTime() <= Date.now()) return { ok: false, reason: 'expired', ...base };
  const presentedHash = sha256(presented);
  if (sameHash(presentedHash, session.refreshHash)) {
    const next = newRefreshToken(sessionId);
    const swapped = await prisma.session.updateMany({
      where: { id: sessionId, refreshHash: presentedHash, revokedAt: null },
      data: { refreshHash: next.hash, lastUsedAt: new Date() },
    });
    if (swapped.count === 1) return { ok: true, ...base, refreshToken: next.token };
  }
  await prisma.session.updateMany({ where: { id: sessionId, revokedAt: null }, data: { revokedAt: new Date() } });
  forgetCachedSessions();
  return { ok: false, reason: 'reused', ...base };
}

/** The session a refresh token names, if the token is its current one (for logout without an access token). */
export async function sessionOfRefreshToken(prisma: PrismaClient, presented: string) {
  const sessionId = sessionIdOf(presented);
  if (!sessionId) return null;
  const session = await prisma.session.findUnique({ where: { id: sessionId } });
  return session && sameHash(sha256(presented), session.refreshHash) ? session : null;
}

export async function revokeSession(tx: Tx | PrismaClient, sessionId: string): Promise<number> {
  forgetCachedSessions();
  const r = await tx.session.updateMany({ where: { id: sessionId, revokedAt: null }, data: { revokedAt: new Date() } });
  return r.count;
}

/** Ends every live login of a user (disable, password reset), or all but one (own password change). */
export async function revokeUserSessions(tx: Tx, userId: number, exceptSessionId?: string): Promise<number> {
  forgetCachedSessions();
  const r = await tx.session.updateMany({
    where: { userId, revokedAt: null, ...(exceptSessionId ? { id: { not: exceptSessionId } } : {}) },
    data: { revokedAt: new Date() },
  });
  return r.count;
}

/**
 * Failed logins for usernames that do not exist, counted like real accounts' (in memory, bounded), so
 * that "locked after 5 tries" does not tell an attacker which usernames are real. Real accounts'
 * counters live in the database and survive restarts; these need not. Names are counted exactly as typed, as
 * accounts are (their lookup is exact): folding case here made "X" then "x" count twice for an unknown name but
 * once each for a real one, and so told which names exist.
 */
export class UnknownUserLockout {
  private readonly entries = new Map<string, { failures: number; lockedUntil: number }>();
  constructor(
    private readonly maxFailures: number,
    private readonly lockMs: number,
    private readonly capacity = 10_000,
  ) {}

  /** Ms until the lock passes, or 0. */
  lockedFor(username: string, now = Date.now()): number {
    const e = this.entries.get(username);
    return e && e.lockedUntil > now ? e.lockedUntil - now : 0;
  }

  /** Consecutive failures counted for the name since its last lock. */
  failures(username: string): number {
    return this.entries.get(username)?.failures ?? 0;
  }

  /** Counts a failure; returns the new lock's length in ms if this failure locked the name, else 0. */
  fail(username: string, now = Date.now()): number {
    const key = username;
    const e = this.entries.get(key) ?? { failures: 0, lockedUntil: 0 };
    this.entries.delete(key); // re-inserted last: the Map's order is least recently failed first
    e.failures += 1;
    let locked = 0;
    if (e.failures >= this.maxFailures) {
      e.failures = 0;
      e.lockedUntil = now + this.lockMs;
      locked = this.lockMs;
    }
    this.entries.set(key, e);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
    return locked;
  }
}
