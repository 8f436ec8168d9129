import { Router } from 'express';
import type { AppDeps } from '../app';
import { actorOf, currentUser, requireRole } from '../auth';
import { conflict, forbidden } from '../errors';
import { parse } from '../schemas/common';
import {
  ApplicationIdParamsSchema,
  CreateApplicationBodySchema,
  DecisionBodySchema,
  ListApplicationsQuerySchema,
  WithdrawBodySchema,
} from '../schemas/applications';
import {
  applicationInclude,
  createApplication,
  loadVisibleApplication,
  readableOrgs,
  startWorkflow,
  toApplicationDto,
  visibleTo,
} from '../services/applications';
import { httpErrorFromTemporal } from '../temporal-errors';
import { decideUpdate, withdrawUpdate } from '../../workflows/messages';
import type { Prisma } from '../../generated/prisma/client';

export function applicationRoutes(deps: AppDeps): Router {
  const { prisma, temporal, config, orgs, logger } = deps;
  const r = Router();

  /** Makes sure the case's workflow runs before a message is sent to it (the reconciler may not have run yet). */
  async function ensureStarted(app: Awaited<ReturnType<typeof loadVisibleApplication>>) {
    if (app.workflowStartedAt) return;
    try {
      await startWorkflow(prisma, temporal, config.TEMPORAL_TASK_QUEUE, app);
    } catch (e) {
      throw httpErrorFromTemporal(e);
    }
  }

  /** 201 the new case; 403 not a school clerk; 404 unknown pupil; 409 open case exists; 422 illegal change. */
  r.post('/', requireRole('SCHOOL_CLERK'), async (req, res) => {
    const u = currentUser(req);
    const body = parse(CreateApplicationBodySchema, req.body);
    const app = await createApplication(prisma, u, body);
    try {
      await startWorkflow(prisma, temporal, config.TEMPORAL_TASK_QUEUE, app);
    } catch (e) {
      // The row is safe in Postgres; the reconciler starts the workflow when Temporal is back.
      logger.warn({ applicationId: app.id, err: String(e) }, 'workflow not started; left to the reconciler');
    }
    res
      .status(201)
      .location(`/api/applications/${app.id}`)
      .json(await toApplicationDto(app, orgs));
  });

  /** Cases the caller may read, newest first, with cursor paging. */
  r.get('/', async (req, res) => {
    const u = currentUser(req);
    const q = parse(ListApplicationsQuerySchema, req.query);
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
    res.json({
      items: await Promise.all(page.map((a) => toApplicationDto(a, orgs, 'list'))),
      nextCursor: rows.length > q.limit ? page[page.length - 1].id : null,
    });
  });

  /** 200 the case; 404 when it does not exist or the caller may not see it. */
  r.get('/:id', async (req, res) => {
    const { id } = parse(ApplicationIdParamsSchema, req.params);
    const app = await loadVisibleApplication(prisma, currentUser(req), id);
    res.json(await toApplicationDto(app, orgs));
  });

  /**
   * A decision for the current stage, as a Temporal Update: 200 the updated case; 400 REJECT without
   * comment; 403 another organisation holds the stage; 409 stale stage or closed case; 503 Temporal
   * unreachable or no worker within UPDATE_TIMEOUT_MS.
   */
  r.post('/:id/decisions', async (req, res) => {
    const u = currentUser(req);
    const { id } = parse(ApplicationIdParamsSchema, req.params);
    const body = parse(DecisionBodySchema, req.body);
    const app = await loadVisibleApplication(prisma, u, id);
    if (app.status !== 'IN_REVIEW') throw conflict('该业务已办结，不能再审核');
    if (body.stage !== app.currentStage) throw conflict('该业务已不在此审核环节，请刷新后查看当前环节');
    if (u.orgCode !== app.currentOrgCode) throw forbidden('当前环节不由您的单位办理');
    await ensureStarted(app);
    const handle = temporal.workflow.getHandle(app.workflowId);
    try {
      await temporal.withDeadline(Date.now() + config.UPDATE_TIMEOUT_MS, () =>
        handle.executeUpdate(decideUpdate, {
          args: [{ stage: body.stage, decision: body.decision, comment: body.comment ?? null, actor: actorOf(u) }],
          // A business key: a retried HTTP request returns the first result instead of deciding twice.
          updateId: `decide:${app.id}:${app.round}:${body.stage}:${body.decision}`,
        }),
      );
    } catch (e) {
      throw httpErrorFromTemporal(e);
    }
    res.json(await toApplicationDto(await loadVisibleApplication(prisma, u, id), orgs));
  });

  /** Withdraw by the applicant school: 200; 403 another organisation; 409 already closed. */
  r.post('/:id/withdraw', async (req, res) => {
    const u = currentUser(req);
    const { id } = parse(ApplicationIdParamsSchema, req.params);
    const body = parse(WithdrawBodySchema, req.body);
    const app = await loadVisibleApplication(prisma, u, id);
    if (u.orgCode !== app.applicantOrgCode) throw forbidden('只有申请学校可以撤销该业务');
    if (app.status !== 'IN_REVIEW' && app.status !== 'RETURNED') throw conflict('该业务已办结，不能撤销');
    await ensureStarted(app);
    const handle = temporal.workflow.getHandle(app.workflowId);
    try {
      await temporal.withDeadline(Date.now() + config.UPDATE_TIMEOUT_MS, () =>
        handle.executeUpdate(withdrawUpdate, {
          args: [{ reason: body.reason, actor: actorOf(u) }],
          updateId: `withdraw:${app.id}`,
        }),
      );
    } catch (e) {
      throw httpErrorFromTemporal(e);
    }
    res.json(await toApplicationDto(await loadVisibleApplication(prisma, u, id), orgs));
  });

  return r;
}
