// The database side of a case's proof documents (转学证明 …): the rows, their audit events, the answer's shape. The
// bytes themselves are stored and served by the route (api/routes/attachments.ts), content-addressed on disk.

import type { Attachment } from '../../generated/prisma/client';
import { appendAudit } from '../../infra/audit';
import { isUniqueViolation, type PrismaClient } from '../../infra/db';
import type { AuthUser } from '../auth';

/** Attachments as the API shows them, with the uploader's name. */
export async function toAttachmentDtos(prisma: PrismaClient, rows: Attachment[]) {
  const ids = [...new Set(rows.map((a) => a.uploadedById))];
  const users = ids.length
    ? await prisma.user.findMany({ where: { id: { in: ids } }, select: { id: true, displayName: true } })
    : [];
  const names = new Map(users.map((u) => [u.id, u.displayName]));
  return rows.map((a) => ({
    id: a.id,
    fileName: a.fileName,
    contentType: a.contentType,
    size: a.size,
    sha256: a.sha256,
    uploadedBy: names.get(a.uploadedById) ?? '',
    createdAt: a.createdAt.toISOString(),
  }));
}

/** The case's status now (it exists: the caller was shown it). */
export async function caseStatus(prisma: PrismaClient, applicationId: number) {
  const app = await prisma.application.findUniqueOrThrow({ where: { id: applicationId }, select: { status: true } });
  return app.status;
}

/** The attachment of this case with these bytes, or null. */
export function findAttachmentByHash(prisma: PrismaClient, applicationId: number, sha256: string) {
  return prisma.attachment.findUnique({ where: { applicationId_sha256: { applicationId, sha256 } } });
}

export interface StoredUpload {
  fileName: string;
  contentType: string;
  size: number;
  sha256: string;
}

/**
 * Records an upload whose bytes are in place, with its audit event, in one transaction. `created: false` with the
 * existing row when the same bytes were recorded for the case a moment ago (the unique index decides).
 */
export async function recordAttachment(
  prisma: PrismaClient,
  u: AuthUser,
  applicationId: number,
  file: StoredUpload,
): Promise<{ attachment: Attachment; created: boolean }> {
  try {
    const attachment = await prisma.$transaction(async (tx) => {
      const created = await tx.attachment.create({
        data: {
          applicationId,
          fileName: file.fileName,
          contentType: file.contentType,
          size: file.size,
          sha256: file.sha256,
          uploadedById: u.userId,
        },
      });
      await appendAudit(tx, {
        actor: u,
        action: 'attachment.upload',
        entityType: 'attachment',
        entityId: created.id,
        applicationId,
        details: {
          fileName: created.fileName,
          contentType: created.contentType,
          size: created.size,
          // appendAudit masks every run of 18 digits as an ID number, and about one sha256 in a hundred
          // has one in its hex: in groups of 16 it is stored whole.
          sha256: created.sha256.match(/.{1,16}/g)!.join(':'),
        },
      });
      return created;
    });
    return { attachment, created: true };
  } catch (e) {
    // The same bytes sent twice at once: the second finds the first's row.
    if (!isUniqueViolation(e)) throw e;
    const key = { applicationId_sha256: { applicationId, sha256: file.sha256 } };
    return { attachment: await prisma.attachment.findUniqueOrThrow({ where: key }), created: false };
  }
}

/** The case's attachments, oldest first. */
export function listAttachments(prisma: PrismaClient, applicationId: number) {
  return prisma.attachment.findMany({ where: { applicationId }, orderBy: { id: 'asc' } });
}

/** One attachment of the case, or null when it has none with this id. */
export function findAttachment(prisma: PrismaClient, applicationId: number, attachmentId: number) {
  return prisma.attachment.findFirst({ where: { id: attachmentId, applicationId } });
}
