import { Router } from 'express';
import type { AppDeps } from '../app';
import { currentUser, requireRole } from '../auth';
import { applicationInclude, toApplicationDtos } from '../services/applications';

export function taskRoutes({ prisma, orgs }: AppDeps): Router {
  const r = Router();
  /** 待办: open cases whose current stage belongs to the caller's organisation, oldest in stage first. */
  r.get('/', requireRole('SCHOOL_CLERK', 'COUNTY_OFFICER'), async (req, res) => {
    const u = currentUser(req);
    // Cases at one of the caller's stages, and returned cases waiting for the caller to correct them.
    const where = { status: { in: ['IN_REVIEW' as const, 'RETURNED' as const] }, currentOrgCode: u.orgCode ?? '-' };
    const [rows, total] = await Promise.all([
      prisma.application.findMany({ where, include: applicationInclude, take: 500 }),
      prisma.application.count({ where }),
    ]);
    const since = (a: (typeof rows)[number]) =>
      a.status === 'RETURNED'
        ? Math.max(...a.steps.filter((s) => s.round === a.round).map((s) => s.decidedAt?.getTime() ?? 0))
        : (a.steps.find((s) => s.round === a.round && s.stage === a.currentStage)?.openedAt?.getTime() ?? 0);
    rows.sort((a, b) => since(a) - since(b) || a.id - b.id);
    res.json({ items: await toApplicationDtos(prisma, u, rows, orgs), total });
  });
  return r;
}
