import { createHash } from 'node:crypto';
import type { PrismaClient } from './db';
import { redactDeep, redactIdNumbers } from './logger';
import type { RawSql } from './sql';

/** Anyone or anything that acts: a user, or the system itself (null). */
export interface AuditActor {
  userId: number;
  displayName: string;
  orgCode: string | null;
}

export interface AuditInput {
  actor: AuditActor | null;
  /** Dotted verb: application.create, application.decide, auth.login, auth.login_failed, auth.denied, user.disable … */
  action: string;
  entityType?: string;
  entityId?: string | number;
  applicationId?: number;
  /** What changed. ID numbers in it are masked before it is stored. */
  details?: Record<string, unknown>;
}

export const GENESIS_HASH = '0'.repeat(64);
// Appends are serialised by an advisory lock held until the transaction ends (key 0x61756469 'audi', taken by the
// server-side append xueji_append_audit), so each row links to the one before it.

/** JSON with keys sorted at every level, so the same row always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (typeof value === 'bigint') return JSON.stringify(value.toString());
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

interface HashedFields {
  at: Date;
  actorId: number | null;
  actorName: string | null;
  orgCode: string | null;
  action: string;
  entityType: string | null;
  entityId: string | null;
  applicationId: number | null;
  details: unknown;
}

export function auditHash(prevHash: string, row: HashedFields): string {
  return createHash('sha256')
    .update(`${prevHash}\n${hashedBody(row)}`)
    .digest('hex');
}

/** An event as it is stored and hashed: ID numbers masked, the time as Postgres will give it back. */
function auditRow(e: AuditInput, at: Date): HashedFields {
  // Masked when written (never by rewriting stored rows: that would break the chain), however the number is encoded.
  // Through JSON and back first: what is hashed is exactly what Postgres will give back (no undefined, Dates as text).
  const details = e.details ? redactDeep(JSON.parse(JSON.stringify(e.details)) as Record<string, unknown>) : null;
  return {
    // Postgres keeps microseconds at most and Prisma milliseconds: hash what will be read back.
    at: new Date(Math.floor(at.getTime())),
    actorId: e.actor?.userId ?? null,
    actorName: e.actor?.displayName ? redactIdNumbers(e.actor.displayName) : null,
    orgCode: e.actor?.orgCode ?? null,
    action: e.action,
    entityType: e.entityType ?? null,
    entityId: e.entityId === undefined ? null : redactIdNumbers(String(e.entityId)),
    applicationId: e.applicationId ?? null,
    details,
  };
}

/** The canonical JSON that auditHash hashes after the previous hash (what the server-side append is given). */
function hashedBody(row: HashedFields): string {
  return canonicalJson({
    at: row.at,
    actorId: row.actorId,
    actorName: row.actorName,
    orgCode: row.orgCode,
    action: row.action,
    entityType: row.entityType,
    entityId: row.entityId,
    applicationId: row.applicationId,
    details: row.details ?? null,
  });
}

/**
 * Appends events to the chain, in order, inside the caller's transaction, so each exists exactly when the change it
 * records does. One statement however many (the server-side function xueji_append_audit, see its migration): it
 * takes the chain's lock, reads the head after taking it, and links each row to the one before with the same hash as
 * auditHash. The lock is held until the transaction ends: append last.
 */
export async function appendAudits(tx: RawSql, events: { e: AuditInput; at?: Date }[]): Promise<void> {
  if (events.length === 0) return;
  const entries = events.map(({ e, at }) => {
    const row = auditRow(e, at ?? new Date());
    return { ...row, at: row.at.toISOString(), body: hashedBody(row), details: row.details ?? undefined };
  });
  await tx.$executeRaw`select xueji_append_audit(${JSON.stringify(entries)}::jsonb)`;
}

/** Appends one event (see appendAudits). */
export function appendAudit(tx: RawSql, e: AuditInput, at: Date = new Date()): Promise<void> {
  return appendAudits(tx, [{ e, at }]);
}

/** Appends in a transaction of its own (for events that change nothing else: a failed login, a denial). */
export function recordAudit(prisma: PrismaClient, e: AuditInput): Promise<void> {
  return prisma.$transaction((tx) => appendAudit(tx, e));
}

export type VerifyResult =
  { ok: true; count: number; headHash: string } | { ok: false; count: number; brokenAt: string; reason: string };

/**
 * Walks the chain in order and names the first row whose stored hash does not match its content
 * (edited) or whose prevHash does not match the row before it (a row deleted or inserted before it).
 * Deleting the newest rows leaves a shorter valid chain: compare headHash with one kept elsewhere.
 */
export async function verifyAuditChain(prisma: PrismaClient, batch = 1000): Promise<VerifyResult> {
  let prev = GENESIS_HASH;
  let count = 0;
  let after: bigint = -1n;
  for (;;) {
    const rows = await prisma.auditEvent.findMany({
      where: { seq: { gt: after } },
      orderBy: { seq: 'asc' },
      take: batch,
    });
    if (rows.length === 0) return { ok: true, count, headHash: prev };
    for (const r of rows) {
      if (r.prevHash !== prev) {
        return {
          ok: false,
          count,
          brokenAt: r.seq.toString(),
          reason: 'prevHash 与上一条记录不符：此前的记录被删除、插入或改动',
        };
      }
      const expected = auditHash(r.prevHash, { ...r, details: r.details ?? null });
      if (expected !== r.hash) {
        return { ok: false, count, brokenAt: r.seq.toString(), reason: '记录内容与其哈希不符：此记录被改动' };
      }
      prev = r.hash;
      count += 1;
      after = r.seq;
    }
  }
}
