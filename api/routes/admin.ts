import { randomUUID } from 'node:crypto';
import { Router, type Response } from 'express';
import type { AppDeps } from '../app';
import { actorOf, currentUser, requireRole } from '../auth';
import { body as requestBody, json, problem, secured, type OpenAPIRegistry } from '../openapi-helpers';
import { z } from '../schemas/common';
import {
  AuditListSchema,
  AuditQueryFieldsSchema,
  AuditVerifySchema,
  AuditQuerySchema,
  CalendarOverviewSchema,
  CalendarYearParamsSchema,
  CalendarYearBodySchema,
  calendarYearSchema,
  OverrideBodySchema,
  RepairBodySchema,
  RepairResultSchema,
  StatsQuerySchema,
  StatsSchema,
} from '../schemas/admin';
import {
  ApplicationIdParamsSchema,
  ApplicationSchema,
  ExtendBodySchema,
  StuckListSchema,
  StuckQuerySchema,
} from '../schemas/applications';
import { parse } from '../schemas/common';
import { loadVisibleApplication, toApplicationDtoFor } from '../services/applications';
import { loadStats, statsWorkbook } from '../services/stats';
import { calendarOverview, loadCalendarYear, recomputeProvisional } from '../services/calendar';
import { auditTrail, verifyAudit } from '../services/audit-trail';
import { loadStuck } from '../services/stuck';
import { repairCaseText } from '../services/repair';
import { assertDecidable, caseAfterUpdate, sendUpdate } from '../services/updates';
import { badRequest, conflict } from '../errors';
import { changeDueUpdate, decideUpdate, remindUpdate } from '../../workflows/messages';
const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

export function adminRoutes(deps: AppDeps): Router {
  const { prisma, orgs } = deps;
  const r = Router();
  r.use(requireRole('ADMIN'));

  /**
   * Cases that need an administrator: overdue (with reminders sent and escalation), and technically stuck (an
   * activity that keeps failing, a workflow that never started). See api/services/stuck.ts.
   */
  r.get('/stuck', async (req, res) => {
    const q = parse(StuckQuerySchema, req.query);
    const kind = q.kind ?? (q.overdueOnly ? 'overdue' : 'all');
    res.json(await loadStuck({ prisma, orgs, predictions: deps.predictions }, { kind, limit: q.limit }));
  });

  /** 催办: one more reminder mail to the organisation holding the case, now. Audited as application.remind. */
  r.post('/applications/:id/remind', async (req, res) => {
    const u = currentUser(req);
    const { id } = parse(ApplicationIdParamsSchema, req.params);
    const key = req.get('Idempotency-Key');
    if (key !== undefined && !/^[A-Za-z0-9._:-]{1,100}$/.test(key)) {
      const message = 'Idempotency-Key 应为 1–100 个字母、数字或 . _ : -';
      throw badRequest(message, [{ path: 'Idempotency-Key', message }]);
    }
    const app = await loadVisibleApplication(prisma, u, id);
    if (app.status !== 'IN_REVIEW' || !app.currentStage) throw conflict('该业务不在审核中，无需催办');
    const result = await sendUpdate(
      deps,
      app,
      remindUpdate,
      { actor: actorOf(u) },
      // Each click is its own reminder; a retried request (same Idempotency-Key) is not.
      `remind:${app.id}:${key ?? randomUUID()}`,
    );
    res.json(result);
  });

  /** Extends (or brings forward) the current stage's due date, with a reason. Audited as application.extend. */
  r.post('/applications/:id/extend', async (req, res) => {
    const u = currentUser(req);
    const { id } = parse(ApplicationIdParamsSchema, req.params);
    const body = parse(ExtendBodySchema, req.body);
    const app = await loadVisibleApplication(prisma, u, id);
    assertDecidable(app, body.stage);
    await sendUpdate(
      deps,
      app,
      changeDueUpdate,
      { stage: body.stage, dueDate: body.dueDate, reason: body.reason, actor: actorOf(u) },
      `extend:${app.id}:${app.round}:${body.stage}:${body.dueDate}`,
    );
    res.json(await toApplicationDtoFor(prisma, u, await loadVisibleApplication(prisma, u, id), orgs));
  });

  /** The working calendar: which years' holiday arrangements are known, from the code or loaded here. */
  r.get('/calendar', async (_req, res) => {
    res.json(await calendarOverview(prisma));
  });

  /**
   * Loads (or corrects) one year's holiday arrangement, as published by the State Council, and recomputes the
   * provisional due dates of open cases with it. Refused, naming each wrong date, if the arrangement contradicts
   * itself. Audited as calendar.load.
   */
  r.put('/calendar/:year', async (req, res) => {
    const u = currentUser(req);
    const { year } = parse(CalendarYearParamsSchema, req.params);
    const arrangement = parse(calendarYearSchema(year), req.body);
    await loadCalendarYear(prisma, u, year, arrangement);
    const recomputed = await recomputeProvisional(deps, actorOf(u), year);
    res.json({ ...(await calendarOverview(prisma)), recomputed });
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
   * Whether the audit hash chain verifies, with its length and head hash (to compare with one kept elsewhere:
   * deleting the newest rows leaves a shorter valid chain), or the first broken entry. Walks the whole chain.
   */
  r.get('/audit/verify', async (_req, res) => {
    res.json(await verifyAudit(prisma));
  });

  /**
   * The audit trail, newest first, filtered by actor (id or username), the actor's organisation, case,
   * action (exact, or `prefix.*`) and time; cursor paging by seq. 400 names each bad parameter.
   */
  r.get('/audit', async (req, res) => {
    const q = parse(AuditQuerySchema, req.query);
    res.json(await auditTrail(prisma, q));
  });

  /**
   * Repairs a case wedged by stored text the rules refuse (the stuck view shows its activity failing with the field
   * named): the refused characters are removed from the case's and its pupil's text, audited; the case then resumes
   * on its activity's next attempt (within half a minute). 409 when nothing needs repair.
   */
  r.post('/applications/:id/repair', async (req, res) => {
    const u = currentUser(req);
    const { id } = parse(ApplicationIdParamsSchema, req.params);
    const body = parse(RepairBodySchema, req.body);
    res.json({ repaired: await repairCaseText(prisma, u, id, body.reason) });
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
    // The step shows why the administrator decided unless a separate comment is given.
    const decided = { stage: body.stage, decision: body.decision, comment: body.comment || body.reason };
    const outcome = await sendUpdate(
      deps,
      app,
      decideUpdate,
      { ...decided, round: app.round, actor: actorOf(u), override: { reason: body.reason } },
      `override:${app.id}:${app.round}:${body.stage}:${body.decision}`,
    );
    res.json(await caseAfterUpdate(deps, u, app, outcome, decided));
  });

  return r;
}

/** The OpenAPI paths of this router. */
export function registerAdminPaths(reg: OpenAPIRegistry) {
  reg.registerPath({
    method: 'get',
    path: '/api/admin/stuck',
    summary: '需要处理的业务（管理员）：超期（含催办次数、是否上报）和流程故障（活动反复失败、流程未启动）',
    security: secured,
    request: { query: StuckQuerySchema },
    responses: {
      200: json(StuckListSchema, '故障在前，其次已上报、超期，各按创建时间'),
      400: problem('参数有误'),
      403: problem('非管理员'),
    },
  });
  reg.registerPath({
    method: 'post',
    path: '/api/admin/applications/{id}/remind',
    summary: '立即催办：向当前办理单位发送催办邮件（记入审计）',
    security: secured,
    request: { params: ApplicationIdParamsSchema },
    responses: {
      200: json(z.object({ remindersSent: z.number().int() }), '已催办；remindersSent 为本环节累计催办次数'),
      403: problem('非管理员'),
      404: problem('业务不存在'),
      409: problem('业务不在审核中，或没有办理期限'),
      503: problem('流程服务暂不可用'),
    },
  });
  reg.registerPath({
    method: 'post',
    path: '/api/admin/applications/{id}/extend',
    summary: '调整当前环节的办理期限（须填写原因，记入审计）',
    security: secured,
    request: { params: ApplicationIdParamsSchema, ...requestBody(ExtendBodySchema) },
    responses: {
      200: json(ApplicationSchema, '已调整'),
      400: problem('日期或原因有误（逐项指出）'),
      403: problem('非管理员'),
      404: problem('业务不存在'),
      409: problem('环节已变化、业务已退回或已办结'),
      503: problem('流程服务暂不可用'),
    },
  });
  reg.registerPath({
    method: 'get',
    path: '/api/admin/calendar',
    summary: '工作日历：已知哪些年份的节假日安排',
    security: secured,
    responses: { 200: json(CalendarOverviewSchema, '年份列表'), 403: problem('非管理员') },
  });
  reg.registerPath({
    method: 'put',
    path: '/api/admin/calendar/{year}',
    summary: '载入（或更正）某年的节假日安排（国务院办公厅通知），并重算在办业务的暂定期限',
    security: secured,
    request: { params: CalendarYearParamsSchema, ...requestBody(CalendarYearBodySchema) },
    responses: {
      200: json(CalendarOverviewSchema.extend({ recomputed: z.number().int() }), '已载入；recomputed 为重算的业务数'),
      400: problem('安排有误（逐项指出日期）'),
      403: problem('非管理员'),
    },
  });
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
    method: 'get',
    path: '/api/admin/audit/verify',
    summary: '校验审计链（管理员）：是否完整、条数和链头哈希，或第一条被改动的记录',
    security: secured,
    responses: { 200: json(AuditVerifySchema, '校验结果'), 403: problem('非管理员') },
  });
  reg.registerPath({
    method: 'post',
    path: '/api/admin/applications/{id}/repair',
    summary: '修复因已存数据含无效字符而停滞的业务（去除无效字符，记入审计），业务随后自动继续',
    security: secured,
    request: { params: ApplicationIdParamsSchema, ...requestBody(RepairBodySchema) },
    responses: {
      200: json(RepairResultSchema, '已修复的字段'),
      400: problem('缺少原因（至少 5 个字）'),
      403: problem('非管理员'),
      404: problem('业务不存在'),
      409: problem('没有需要修复的字段'),
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
