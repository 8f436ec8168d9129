// The database work of logging in and out and of changing one's own password: failure counts and locks, sessions,
// and their audit events. The routes (api/routes/auth.ts) parse, decide what to answer and answer; refresh tokens
// themselves are in api/sessions.ts.

import type { User } from '../../generated/prisma/client';
import { appendAudit, recordAudit, type AuditActor } from '../../infra/audit';
import type { PrismaClient } from '../../infra/db';
import { auditActorOf } from '../auth';
import { createSession, revokeSession, revokeUserSessions, type NewSession } from '../sessions';

/** The account a login names, with its organisation, or null. */
export function findUserByUsername(prisma: PrismaClient, username: string) {
  return prisma.user.findUnique({ where: { username }, include: { org: true } });
}

/** The account by id, with its organisation, or null. */
export function findUserById(prisma: PrismaClient, id: number) {
  return prisma.user.findUnique({ where: { id }, include: { org: true } });
}

/** The account by id; it must exist (it owns a live session). */
export function loadUser(prisma: PrismaClient, id: number) {
  return prisma.user.findUniqueOrThrow({ where: { id } });
}

/**
 * A refused login that changes no row — the account is locked, or the username unknown — audited in a transaction
 * of its own, with the account when there is one.
 */
export function auditRefusedLogin(
  prisma: PrismaClient,
  e: {
    action: 'auth.login_failed' | 'auth.locked';
    userId?: number;
    username: string;
    reason: 'locked' | 'unknown_user';
    ip: string | undefined;
  },
) {
  return recordAudit(prisma, {
    actor: null,
    action: e.action,
    ...(e.userId !== undefined ? { entityType: 'User', entityId: e.userId } : {}),
    details: { username: e.username, reason: e.reason, ip: e.ip },
  });
}

/**
 * One more consecutive failure for an existing account: locks it at the limit. The row is updated
 * first, then the audit chain appended, in one transaction (the order every writer of users keeps).
 * Returns the lock's length in ms when this failure locked the account, and the attempts left before the lock.
 */
export function countLoginFailure(
  prisma: PrismaClient,
  user: Pick<User, 'id' | 'username'>,
  reason: string,
  ip: string | undefined,
  policy: { maxFailedLogins: number; lockMs: number },
): Promise<{ locked: number; attemptsLeft: number }> {
  return prisma.$transaction(async (tx) => {
    const { failedLogins } = await tx.user.update({
      where: { id: user.id },
      data: { failedLogins: { increment: 1 } },
      select: { failedLogins: true },
    });
    const locks = failedLogins >= policy.maxFailedLogins;
    const base = { actor: null, entityType: 'User', entityId: user.id };
    const details = { username: user.username, reason, failures: failedLogins, ip };
    await appendAudit(tx, { ...base, action: 'auth.login_failed', details });
    if (!locks) return { locked: 0, attemptsLeft: policy.maxFailedLogins - failedLogins };
    const lockedUntil = new Date(Date.now() + policy.lockMs);
    await tx.user.update({ where: { id: user.id }, data: { failedLogins: 0, lockedUntil } });
    await appendAudit(tx, { ...base, action: 'auth.locked', details: { ...details, lockedUntil } });
    return { locked: policy.lockMs, attemptsLeft: 0 };
  });
}

/**
 * A successful login: clears the failure count and starts a session, audited, in one transaction — or null when a
 * lock was set by a concurrent failure since the caller checked (it still holds).
 */
export function startLogin(
  prisma: PrismaClient,
  user: Pick<User, 'id' | 'username' | 'displayName' | 'orgCode'>,
  ttlMs: number,
  client: { ip?: string; userAgent?: string },
): Promise<NewSession | null> {
  return prisma.$transaction(async (tx) => {
    // Only while not locked: a lock set by a concurrent failure since the check above still holds.
    const reset = await tx.user.updateMany({
      where: { id: user.id, OR: [{ lockedUntil: null }, { lockedUntil: { lte: new Date() } }] },
      data: { failedLogins: 0, lockedUntil: null },
    });
    if (reset.count === 0) return null;
    const s = await createSession(tx, user.id, ttlMs, client);
    await appendAudit(tx, {
      actor: auditActorOf({ userId: user.id, displayName: user.displayName, orgCode: user.orgCode }),
      action: 'auth.login',
      entityType: 'User',
      entityId: user.id,
      details: { username: user.username, sessionId: s.sessionId, ip: client.ip },
    });
    return s;
  });
}

/** A refresh token presented again after it was spent (its session is revoked already): audited. */
export function auditRefreshReused(
  prisma: PrismaClient,
  sessionId: string | undefined,
  userId: number | undefined,
  ip: string | undefined,
) {
  return recordAudit(prisma, {
    actor: null,
    action: 'auth.refresh_reused',
    entityType: 'Session',
    entityId: sessionId,
    details: { userId, ip },
  });
}

/** Ends one login, audited — nothing when it had ended already. */
export function endLogin(prisma: PrismaClient, sessionId: string, actor: AuditActor & { username: string }) {
  return prisma.$transaction(async (tx) => {
    if ((await revokeSession(tx, sessionId)) === 0) return;
    await appendAudit(tx, {
      actor: auditActorOf(actor),
      action: 'auth.logout',
      entityType: 'Session',
      entityId: sessionId,
      details: { username: actor.username },
    });
  });
}

/**
 * Stores a new password (hashed by the caller), clears a pending reset and the failure count, and ends every other
 * login of the user, audited, in one transaction.
 */
export function savePassword(
  prisma: PrismaClient,
  user: Pick<User, 'id' | 'username' | 'mustChangePassword'>,
  caller: AuditActor & { sessionId?: string },
  passwordHash: string,
) {
  return prisma.$transaction(async (tx) => {
    await tx.user.update({
      where: { id: user.id },
      data: { passwordHash, mustChangePassword: false, passwordChangedAt: new Date(), failedLogins: 0 },
    });
    const revoked = await revokeUserSessions(tx, user.id, caller.sessionId);
    await appendAudit(tx, {
      actor: auditActorOf(caller),
      action: 'auth.password_changed',
      entityType: 'User',
      entityId: user.id,
      details: { username: user.username, afterReset: user.mustChangePassword, otherSessionsEnded: revoked },
    });
  });
}
