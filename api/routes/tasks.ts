import { Router } from 'express';
import type { AppDeps } from '../app';
import { currentUser, requireRole } from '../auth';
import { parse } from '../schemas/common';
import { TasksQuerySchema } from '../schemas/applications';
import { applicationInclude, toApplicationDtos } from '../services/applications';
import type { Prisma } from '../../generated/prisma/client';

export function taskRoutes({ prisma, orgs }: AppDeps): Router {
  const r = Router();
  /**
   * 待办: cases at one of the caller's stages, and returned cases waiting for the caller to correct them, longest
   * waiting first — ordered and paged in SQL on the (currentOrgCode, waitingSince, id) index, so a page costs the same
   * whether the organisation holds ten cases or ten thousand.
   */
  r.get('/', requireRole('SCHOOL_CLERK', 'COUNTY_OFFICER'), async (req, res) => {
    const u = currentUser(req);
    const q = parse(TasksQuerySchema, req.query);
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
    res.json({
      items: await toApplicationDtos(prisma, u, page, orgs),
      total,
      nextCursor: rows.length > q.limit && last ? `${last.waitingSince?.getTime() ?? 0}.${last.id}` : null,
    });
  });
  return r;
}
