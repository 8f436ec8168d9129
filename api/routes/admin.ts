import { Router, type Response } from 'express';
import type { AppDeps } from '../app';
import { actorOf, currentUser, requireRole } from '../auth';
import { body as requestBody, json, problem, secured, type OpenAPIRegistry } from '../openapi-helpers';
import {
  AuditListSchema,
  AuditQueryFieldsSchema,
  AuditQuerySchema,
  OverrideBodySchema,
  StatsQuerySchema,
  StatsSchema,
} from '../schemas/admin';
import { ApplicationIdParamsSchema, ApplicationSchema, StuckQuerySchema } from '../schemas/applications';
import { parse } from '../schemas/common';
import { loadVisibleApplication, toApplicationDto } from '../services/applications';
import { loadStats, statsWorkbook } from '../services/stats';
import { assertDecidable, sendUpdate } from '../services/updates';
import { OPEN_STATUSES } from '../../domain/types';
import type { Prisma } from '../../generated/prisma/client';
import { decideUpdate } from '../../workflows/messages';

const HOUR = 3_600_000;
const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

/** A user id, or a username looked up to one (null: no such user, so nothing matches). */
async function actorIdOf(prisma: AppDeps['prisma'], actor: string): Promise<number | null> {
  if (/^\d{1,9}$/.test(actor)) return Number(actor);
  const user = await prisma.user.findUnique({ where: { username: actor }, select: { id: true } });
  return user?.id ?? null;
}

export function adminRoutes(deps: AppDeps): Router {
  const { prisma, orgs } = deps;
  const r = Router();
  r.use(requireRole('ADMIN'));

  /** Open cases, oldest first, with how long they have waited and who holds them. */
  r.get('/stuck', async (req, res) => {
    const q = parse(StuckQuerySchema, req.query);
    const now = Date.now();
    const rows = await prisma.application.findMany({
      where: {
        status: { in: OPEN_STATUSES },
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

  /** Workload and time in stage per stage and per holder organisation, as JSON or as a workbook. */
  const sendStats = async (res: Response, format: 'json' | 'xlsx') => {
    const stats = await loadStats(prisma);
    if (format === 'json') {
      res.json(stats);
      return;
    }
    const day = stats.generatedAt.slice(0, 10);
    res
      .type(XLSX)
      .attachment(`stats-${day}.xlsx`)
      .send(await statsWorkbook(stats));
  };
  r.get('/stats.xlsx', async (_req, res) => sendStats(res, 'xlsx'));
  r.get('/stats', async (req, res) => sendStats(res, parse(StatsQuerySchema, req.query).format));

  /**
   * The audit trail, newest first, filtered by actor (id or username), the actor's organisation, case,
   * action (exact, or `prefix.*`) and time; cursor paging by seq. 400 names each bad parameter.
   */
  r.get('/audit', async (req, res) => {
    const q = parse(AuditQuerySchema, req.query);
    const actorId = q.actor === undefined ? undefined : await actorIdOf(prisma, q.actor);
    if (actorId === null) {
      res.json({ items: [], nextCursor: null });
      return;
    }
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
    res.json({
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
    });
  });

  /**
   * An administrator decides the current stage in place of the organisation that holds it — when that
   * organisation cannot (its account is locked, the office is closed past the deadline …). Only here,
   * never through the ordinary decisions route, and only with a reason, which the audit trail keeps as
   * `application.override`. Stage, open case and comment rules are the workflow's as for any decision.
   */
  r.post('/applications/:id/override', async (req, res) => {
    const u = currentUser(req);
    const { id } = parse(ApplicationIdParamsSchema, req.params);
    const body = parse(OverrideBodySchema, req.body);
    const app = await loadVisibleApplication(prisma, u, id);
    assertDecidable(app, body.stage);
    await sendUpdate(
      deps,
      app,
      decideUpdate,
      {
        stage: body.stage,
        decision: body.decision,
        // The step shows why the administrator decided unless a separate comment is given.
        comment: body.comment || body.reason,
        actor: actorOf(u),
        override: { reason: body.reason },
      },
      `override:${app.id}:${app.round}:${body.stage}:${body.decision}`,
    );
    res.json(await toApplicationDto(await loadVisibleApplication(prisma, u, id), orgs));
  });

  return r;
}

/** The OpenAPI paths of this router (GET /api/admin/stuck is still described in api/openapi.ts). */
export function registerAdminPaths(reg: OpenAPIRegistry) {
  const workbook = {
    description: 'Excel 工作簿：工作表“按环节”“按单位”',
    content: { [XLSX]: { schema: { type: 'string' as const, format: 'binary' } } },
  };
  reg.registerPath({
    method: 'get',
    path: '/api/admin/stats',
    summary: '办理统计（管理员）：按环节、按单位的在办、超期数和办理用时（中位数、90 分位）',
    security: secured,
    request: { query: StatsQuerySchema },
    responses: {
      200: {
        description: '统计；format=xlsx 时为 Excel 工作簿',
        content: { 'application/json': { schema: StatsSchema }, ...workbook.content },
      },
      400: problem('参数有误'),
      403: problem('非管理员'),
    },
  });
  reg.registerPath({
    method: 'get',
    path: '/api/admin/stats.xlsx',
    summary: '办理统计（管理员）导出为 Excel',
    security: secured,
    responses: { 200: workbook, 403: problem('非管理员') },
  });
  reg.registerPath({
    method: 'get',
    path: '/api/admin/audit',
    summary: '审计记录（管理员）：按操作人、单位、业务、操作类型和时间筛选，最新的在前',
    security: secured,
    request: { query: AuditQueryFieldsSchema },
    responses: {
      200: json(AuditListSchema, '审计记录；nextCursor 为下一页的 cursor'),
      400: problem('参数有误（逐项指出）'),
      403: problem('非管理员'),
    },
  });
  reg.registerPath({
    method: 'post',
    path: '/api/admin/applications/{id}/override',
    summary: '管理员代为审核当前环节（须填写原因，记入审计）',
    security: secured,
    request: { params: ApplicationIdParamsSchema, ...requestBody(OverrideBodySchema) },
    responses: {
      200: json(ApplicationSchema, '已审核'),
      400: problem('缺少原因（至少 5 个字）或字段有误'),
      403: problem('非管理员'),
      404: problem('业务不存在'),
      409: problem('环节已变化、业务已退回或已办结'),
      503: problem('流程服务暂不可用'),
    },
  });
}
