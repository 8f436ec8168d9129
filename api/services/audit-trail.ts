// The audit trail as administrators read it: filtered pages, newest first, and the verification of its hash chain.

import type { Prisma } from '../../generated/prisma/client';
import { verifyAuditChain } from '../../infra/audit';
import type { PrismaClient } from '../../infra/db';

/** A parsed GET /api/admin/audit query (schemas/admin.ts). */
export interface AuditFilter {
  /** A user id, or a username. */
  actor?: string;
  org?: string;
  applicationId?: number;
  /** Exact, or `prefix.*`. */
  action?: string;
  from?: Date;
  to?: Date;
  limit: number;
  /** Entries older than this seq. */
  cursor?: bigint;
}

/** A user id, or a username looked up to one (null: no such user, so nothing matches). */
async function actorIdOf(prisma: PrismaClient, actor: string): Promise<number | null> {
  if (/^\d{1,9}$/.test(actor)) return Number(actor);
  const user = await prisma.user.findUnique({ where: { username: actor }, select: { id: true } });
  return user?.id ?? null;
}

/** One page of the trail, newest first, with the cursor of the next page (null on the last). */
export async function auditTrail(prisma: PrismaClient, q: AuditFilter) {
  const actorId = q.actor === undefined ? undefined : await actorIdOf(prisma, q.actor);
  if (actorId === null) return { items: [], nextCursor: null };
  const where: Prisma.AuditEventWhereInput = {
    ...(actorId !== undefined ? { actorId } : {}),
    ...(q.org ? { orgCode: q.org } : {}),
    ...(q.applicationId ? { applicationId: q.applicationId } : {}),
    ...(q.action ? { action: q.action.endsWith('.*') ? { startsWith: q.action.slice(0, -1) } : q.action } : {}),
    ...(q.from || q.to ? { at: { ...(q.from ? { gte: q.from } : {}), ...(q.to ? { lte: q.to } : {}) } } : {}),
    ...(q.cursor !== undefined ? { seq: { lt: q.cursor } } : {}),
  };
  const rows = await prisma.auditEvent.findMany({ where, orderBy: { seq: 'desc' }, take: q.limit + 1 });
  const page = rows.slice(0, q.limit);
  return {
    items: page.map((e) => ({
      // A bigint: JSON has no 64-bit integers, so it travels as a string.
      seq: e.seq.toString(),
      at: e.at.toISOString(),
      actor: e.actorId === null ? null : { id: e.actorId, name: e.actorName },
      orgCode: e.orgCode,
      action: e.action,
      entityType: e.entityType,
      entityId: e.entityId,
      applicationId: e.applicationId,
      details: (e.details as Record<string, unknown> | null) ?? null,
      prevHash: e.prevHash,
      hash: e.hash,
    })),
    nextCursor: rows.length > q.limit ? page[page.length - 1].seq.toString() : null,
  };
}

/** Whether the chain verifies, with its length and head hash, or the first broken entry. Walks the whole chain. */
export async function verifyAudit(prisma: PrismaClient) {
  const result = await verifyAuditChain(prisma);
  return result.ok
    ? { ok: true, count: result.count, headHash: result.headHash, brokenAt: null, reason: null }
    : { ok: false, count: result.count, headHash: null, brokenAt: result.brokenAt, reason: result.reason };
}
