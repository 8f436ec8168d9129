// Lists of cases: the cases a caller may read (GET /api/applications) and 待办 (GET /api/tasks), each a page with
// its cursor, as the caller sees them.

import type { Prisma } from '../../generated/prisma/client';
import type { PrismaClient } from '../../infra/db';
import { isValidStudentNo } from '../../domain/id-number';
import { normaliseIdInput } from '../../domain/text';
import type { AuthUser } from '../auth';
import type { z } from '../schemas/common';
import type { ListApplicationsQuerySchema, TasksQuerySchema } from '../schemas/applications';
import { applicationInclude, readableOrgs, toApplicationDtos, visibleTo, type OrgDirectory } from './applications';

type Orgs = Pick<OrgDirectory, 'ref'>;

/** A search in a list of cases: the whole 学籍号 (as on the family's papers), or a part of the pupil's name. */
function studentMatch(q: string): Prisma.ApplicationWhereInput {
  const asNumber = normaliseIdInput(q);
  return isValidStudentNo(asNumber) ? { studentNo: asNumber } : { student: { name: { contains: q.trim() } } };
}

/** Cases the caller may read, newest first, filtered, one page with the cursor of the next (null on the last). */
export async function listApplications(
  prisma: PrismaClient,
  u: AuthUser,
  q: z.infer<typeof ListApplicationsQuerySchema>,
  orgs: Orgs,
) {
  const where: Prisma.ApplicationWhereInput = {
    AND: [
      visibleTo(await readableOrgs(prisma, u)),
      q.status ? { status: q.status } : {},
      q.type ? { type: q.type } : {},
      q.stage ? { currentStage: q.stage } : {},
      q.overdue === undefined
        ? {}
        : q.overdue
          ? {
              status: 'IN_REVIEW',
              steps: { some: { decision: null, openedAt: { not: null }, dueAt: { lt: new Date() } } },
            }
          : { NOT: { steps: { some: { decision: null, openedAt: { not: null }, dueAt: { lt: new Date() } } } } },
      q.q ? studentMatch(q.q) : {},
      q.cursor ? { id: { lt: q.cursor } } : {},
    ],
  };
  const rows = await prisma.application.findMany({
    where,
    include: applicationInclude,
    orderBy: { id: 'desc' },
    take: q.limit + 1,
  });
  const page = rows.slice(0, q.limit);
  return {
    items: await toApplicationDtos(prisma, u, page, orgs),
    nextCursor: rows.length > q.limit ? page[page.length - 1].id : null,
  };
}

/**
 * 待办: cases at one of the caller's stages, and returned cases waiting for the caller to correct them, longest
 * waiting first — ordered and paged in SQL on the (currentOrgCode, waitingSince, id) index, so a page costs the same
 * whether the organisation holds ten cases or ten thousand.
 */
export async function listTasks(prisma: PrismaClient, u: AuthUser, q: z.infer<typeof TasksQuerySchema>, orgs: Orgs) {
  const where: Prisma.ApplicationWhereInput = {
    currentOrgCode: u.orgCode ?? '-',
    status: { in: ['IN_REVIEW', 'RETURNED'] },
  };
  let after: Prisma.ApplicationWhereInput = {};
  if (q.cursor) {
    const [ms, id] = q.cursor.split('.').map(Number);
    const since = new Date(ms);
    after = { OR: [{ waitingSince: { gt: since } }, { waitingSince: since, id: { gt: id } }] };
  }
  const [rows, total] = await Promise.all([
    prisma.application.findMany({
      where: { AND: [where, after] },
      include: applicationInclude,
      orderBy: [{ waitingSince: 'asc' }, { id: 'asc' }],
      take: q.limit + 1,
    }),
    prisma.application.count({ where }),
  ]);
  const page = rows.slice(0, q.limit);
  const last = page[page.length - 1];
  return {
    items: await toApplicationDtos(prisma, u, page, orgs),
    total,
    nextCursor: rows.length > q.limit && last ? `${last.waitingSince?.getTime() ?? 0}.${last.id}` : null,
  };
}
