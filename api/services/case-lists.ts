// Lists of cases: the cases a caller may read (GET /api/applications) and 待办 (GET /api/tasks), each a page with
// its cursor, as the caller sees them.

import type { Prisma } from '../../generated/prisma/client';
import type { PrismaClient } from '../../infra/db';
import { onPool, poolOf } from '../../infra/sql';
import { isValidStudentNo } from '../../domain/id-number';
import { normaliseIdInput } from '../../domain/text';
import type { AuthUser } from '../auth';
import type { z } from '../schemas/common';
import type { ListApplicationsQuerySchema, TasksQuerySchema } from '../schemas/applications';
import {
  applicationInclude,
  applicationRowsById,
  readableOrgs,
  toApplicationDtos,
  visibleTo,
  type OrgDirectory,
} from './applications';
import type { PredictionService } from './prediction';

/** What a list needs beside the database: organisation names, and the predictions of its open cases. */
export interface ListDeps {
  orgs: Pick<OrgDirectory, 'ref'>;
  predictions: Pick<PredictionService, 'forCases'>;
}

/** A page of cases as the caller sees them, each with its predicted completion (null unless in review). */
async function asSeen(prisma: PrismaClient, u: AuthUser, page: Parameters<typeof toApplicationDtos>[2], d: ListDeps) {
  const [dtos, predictions] = await Promise.all([
    toApplicationDtos(prisma, u, page, d.orgs),
    d.predictions.forCases(page),
  ]);
  return dtos.map((dto, i) => ({ ...dto, prediction: predictions[i] }));
}

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
  deps: ListDeps,
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
    items: await asSeen(prisma, u, page, deps),
    nextCursor: rows.length > q.limit ? page[page.length - 1].id : null,
  };
}

/**
 * 待办: cases at one of the caller's stages, and returned cases waiting for the caller to correct them, longest
 * waiting first. The page's ids come from the partial index of open cases ("Application_open_queue_idx":
 * currentOrgCode, waitingSince, id where the case is IN_REVIEW or RETURNED), a range scan stopping after limit + 1
 * entries, and the page's rows with their steps from two queries by id on `pg` (applicationRowsById). The exact
 * `total` reads no case of the caller's queue: the cases in review it holds are the statistics roll-up's `open` for
 * the caller (kept in the transaction that moves a case, equal to a recount — test/read-model.test.ts), and the
 * returned ones come from a partial index of returned cases ("Application_returned_idx"). So a page and its total
 * cost the same whether the organisation holds ten cases or ten thousand, vacuumed or not.
 */
export async function listTasks(
  prisma: PrismaClient,
  u: AuthUser,
  q: z.infer<typeof TasksQuerySchema>,
  deps: ListDeps,
) {
  const org = u.orgCode ?? '-';
  const db = onPool(poolOf(prisma));
  // The status lists are written out (not parameters), so the planner matches the partial indexes' predicates; the
  // first page and the next ones are two statements, so each is prepared once with its own plan.
  const after = q.cursor ? q.cursor.split('.').map(Number) : null;
  const [ids, [{ total }]] = await Promise.all([
    after
      ? // waitingSince is a UTC timestamp without zone (as Prisma writes it).
        db.$queryRaw<{ id: number }[]>`
          select id from "Application"
           where "currentOrgCode" = ${org} and status in ('IN_REVIEW', 'RETURNED')
             and ("waitingSince", id) > ((${new Date(after[0]).toISOString()}::timestamptz at time zone 'UTC'), ${after[1]}::int)
           order by "waitingSince", id
           limit ${q.limit + 1}`
      : db.$queryRaw<{ id: number }[]>`
          select id from "Application"
           where "currentOrgCode" = ${org} and status in ('IN_REVIEW', 'RETURNED')
           order by "waitingSince", id
           limit ${q.limit + 1}`,
    db.$queryRaw<{ total: number }[]>`
      select ((select coalesce(sum(open), 0) from "StageRollup"
                where stage = any(enum_range(null::"Stage")) and "orgCode" = ${org})
            + (select count(*) from "Application" where "currentOrgCode" = ${org} and status = 'RETURNED'))::int as total`,
  ]);
  const wanted = ids.slice(0, q.limit).map((r) => r.id);
  const rows = await applicationRowsById(prisma, wanted);
  const byId = new Map(rows.map((r) => [r.id, r]));
  // A case decided between the two reads is left out of this page (it is no longer waiting here).
  const cases = wanted.flatMap((id) => byId.get(id) ?? []);
  const last = cases[cases.length - 1];
  return {
    items: await asSeen(prisma, u, cases, deps),
    total,
    nextCursor: ids.length > q.limit && last ? `${last.waitingSince?.getTime() ?? 0}.${last.id}` : null,
  };
}
