import { Router } from 'express';
import type { AppDeps } from '../app';
import { requireRole } from '../auth';
import { parse } from '../schemas/common';
import { StuckQuerySchema } from '../schemas/applications';

const HOUR = 3_600_000;

export function adminRoutes({ prisma, orgs }: AppDeps): Router {
  const r = Router();
  r.use(requireRole('ADMIN'));

  /** Open cases, oldest first, with how long they have waited and who holds them. */
  r.get('/stuck', async (req, res) => {
    const q = parse(StuckQuerySchema, req.query);
    const now = Date.now();
    const rows = await prisma.application.findMany({
      where: {
        status: { in: ['IN_REVIEW', 'RETURNED'] },
        ...(q.overdueOnly
          ? { steps: { some: { decision: null, openedAt: { not: null }, dueAt: { lt: new Date() } } } }
          : {}),
      },
      include: { steps: true },
      orderBy: { createdAt: 'asc' },
      take: q.limit,
    });
    const items = await Promise.all(
      rows.map(async (a) => {
        const step = a.steps.find((s) => s.round === a.round && s.stage === a.currentStage);
        const dueAt = step?.dueAt ?? null;
        return {
          id: a.id,
          type: a.type,
          status: a.status,
          currentStage: a.currentStage,
          holder: await orgs.ref(a.currentOrgCode),
          createdAt: a.createdAt.toISOString(),
          ageHours: Math.round(((now - a.createdAt.getTime()) / HOUR) * 10) / 10,
          stageSince: step?.openedAt?.toISOString() ?? null,
          hoursInStage: step?.openedAt ? Math.round(((now - step.openedAt.getTime()) / HOUR) * 10) / 10 : null,
          dueAt: dueAt?.toISOString() ?? null,
          overdue: dueAt !== null && dueAt.getTime() < now,
          workflowStarted: a.workflowStartedAt !== null,
        };
      }),
    );
    res.json({ items });
  });
  return r;
}
