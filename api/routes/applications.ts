import { Router, type Response } from 'express';
import type { AppDeps } from '../app';
import { actorOf, currentUser, requireRole, type AuthUser } from '../auth';
import { conflict, forbidden, ruleViolation } from '../errors';
import { isoDay, parse } from '../schemas/common';
import {
  ApplicationIdParamsSchema,
  CancelBodySchema,
  CreateApplicationBodySchema,
  DetailsCheckSchema,
  ResubmitBodySchema,
  ReversalBodySchema,
  DecisionBodySchema,
  ListApplicationsQuerySchema,
  WithdrawBodySchema,
} from '../schemas/applications';
import {
  createApplication,
  type insertCase,
  loadVisibleApplication,
  startWorkflow,
  toApplicationDtoFor,
} from '../services/applications';
import { listApplications } from '../services/case-lists';
import { loadStudent } from '../services/students';
import { cancelUpdate, decideUpdate, resubmitUpdate, withdrawUpdate } from '../../workflows/messages';
import { createReversal } from '../services/reversal';
import { assertDecidable, caseAfterUpdate, sendUpdate } from '../services/updates';
import { guardianAccessOf, reissueQueryCode } from '../services/guardian';
import { isOpenStatus } from '../../domain/types';
import { checkProvinceRules } from '../../domain/rules';

export function applicationRoutes(deps: AppDeps): Router {
  const { prisma, temporal, config, orgs, logger } = deps;
  const r = Router();

  /**
   * A case just written: its workflow started (if Temporal is away, the row is safe in Postgres and the reconciler
   * starts it when Temporal is back), then 201 with the family's reference and query code — shown once, to the
   * clerk, for the receipt: only the code's hash is kept.
   */
  async function answerNewCase(res: Response, u: AuthUser, app: Awaited<ReturnType<typeof insertCase>>) {
    try {
      await startWorkflow(prisma, temporal, config.TEMPORAL_TASK_QUEUE, app, undefined, false);
    } catch (e) {
      logger.warn({ applicationId: app.id, err: String(e) }, 'workflow not started; left to the reconciler');
    }
    res
      .status(201)
      .location(`/api/applications/${app.id}`)
      .json({
        ...(await toApplicationDtoFor(prisma, u, app, orgs)),
        guardianAccess: guardianAccessOf(deps.appUrl, app.guardianAccess.ref, app.guardianAccess.code),
      });
  }

  /** 201 the new case; 403 not a school clerk; 404 unknown pupil; 409 open case exists; 422 illegal change. */
  r.post('/', requireRole('SCHOOL_CLERK'), async (req, res) => {
    const u = currentUser(req);
    const body = parse(CreateApplicationBodySchema, req.body);
    const app = await createApplication(prisma, u, body, deps.rules, deps.reasonCodes, deps.reviewLevels);
    await answerNewCase(res, u, app);
  });

  /**
   * 纠错 of an approved case by the school that filed it: 201 the new reversal case (its own chain, the original's);
   * 400 no reason; 403 not the applicant school; 404 not visible; 409 not approved, not the pupil's most recent
   * change, a case open for the pupil, the window passed, or a reversal itself.
   */
  r.post('/:id/reversal', async (req, res) => {
    const u = currentUser(req);
    const { id } = parse(ApplicationIdParamsSchema, req.params);
    const body = parse(ReversalBodySchema, req.body);
    const app = await createReversal(prisma, u, id, body.reason, deps.rules);
    await answerNewCase(res, u, app); // a case of its own: the family follows it with its own reference and code
  });

  /** Cases the caller may read, newest first, with cursor paging. */
  r.get('/', async (req, res) => {
    const u = currentUser(req);
    const q = parse(ListApplicationsQuerySchema, req.query);
    res.json(await listApplications(prisma, u, q, { orgs, predictions: deps.predictions }));
  });

  /** A new query code for the family (the old one stops working): the applicant school's clerk or an admin. */
  r.post('/:id/query-code', async (req, res) => {
    const { id } = parse(ApplicationIdParamsSchema, req.params);
    res.set('Cache-Control', 'no-store').json(await reissueQueryCode(prisma, currentUser(req), id, deps.appUrl));
  });

  /** 200 the case; 404 when it does not exist or the caller may not see it. */
  r.get('/:id', async (req, res) => {
    const u = currentUser(req);
    const { id } = parse(ApplicationIdParamsSchema, req.params);
    const app = await loadVisibleApplication(prisma, u, id);
    const [dto, prediction] = await Promise.all([
      toApplicationDtoFor(prisma, u, app, orgs),
      deps.predictions.forCase(app),
    ]);
    res.json({ ...dto, prediction });
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
    assertDecidable(app, body.stage);
    if (u.orgCode !== app.currentOrgCode) throw forbidden('当前环节不由您的单位办理');
    const decided = { stage: body.stage, decision: body.decision, comment: body.comment ?? null };
    const outcome = await sendUpdate(
      deps,
      app,
      decideUpdate,
      { ...decided, round: app.round, actor: actorOf(u) },
      `decide:${app.id}:${app.round}:${body.stage}:${body.decision}`,
    );
    res.json(await caseAfterUpdate(deps, u, app, outcome, decided));
  });

  /** Withdraw by the applicant school: 200; 403 another organisation; 409 already closed. */
  r.post('/:id/withdraw', async (req, res) => {
    const u = currentUser(req);
    const { id } = parse(ApplicationIdParamsSchema, req.params);
    const body = parse(WithdrawBodySchema, req.body);
    const app = await loadVisibleApplication(prisma, u, id);
    if (u.orgCode !== app.applicantOrgCode) throw forbidden('只有申请学校可以撤销该业务');
    if (!isOpenStatus(app.status)) throw conflict('该业务已办结，不能撤销');
    const outcome = await sendUpdate(
      deps,
      app,
      withdrawUpdate,
      { reason: body.reason, actor: actorOf(u) },
      `withdraw:${app.id}`,
    );
    res.json(await caseAfterUpdate(deps, u, app, outcome));
  });

  /** The applicant corrects a returned case and sends it round again: 200; 403; 409 when not returned. */
  r.post('/:id/resubmit', async (req, res) => {
    const u = currentUser(req);
    const { id } = parse(ApplicationIdParamsSchema, req.params);
    const body = parse(ResubmitBodySchema, req.body);
    const app = await loadVisibleApplication(prisma, u, id);
    if (u.orgCode !== app.applicantOrgCode) throw forbidden('只有申请学校可以修改并重新提交');
    if (app.status !== 'RETURNED') throw conflict('该业务未被退回，无需重新提交');
    // A reversal (纠错) has no details or date of its own to correct: only its reason. Any other case must still pass
    // the same checks as a new one (type-specific fields, rules).
    const reversal = app.reversesId !== null;
    if (!reversal) {
      const merged = {
        type: app.type,
        effectiveDate: body.effectiveDate ?? isoDay(app.effectiveDate),
        details: body.details ?? (app.details as Record<string, unknown> | null) ?? {},
      };
      parse(DetailsCheckSchema, merged);
      const provincial = checkProvinceRules(app.type, await loadStudent(prisma, app.studentNo), merged, deps.rules);
      if (!provincial.legal) throw ruleViolation(provincial.reason);
    }
    const outcome = await sendUpdate(
      deps,
      app,
      resubmitUpdate,
      { corrections: reversal ? { reason: body.reason } : body, actor: actorOf(u), round: app.round },
      `resubmit:${app.id}:${app.round}`,
    );
    res.json(await caseAfterUpdate(deps, u, app, outcome));
  });

  /** An administrator cancels an open case with a reason: 200; 403 not an administrator; 409 closed. */
  r.post('/:id/cancel', requireRole('ADMIN'), async (req, res) => {
    const u = currentUser(req);
    const { id } = parse(ApplicationIdParamsSchema, req.params);
    const body = parse(CancelBodySchema, req.body);
    const app = await loadVisibleApplication(prisma, u, id);
    if (!isOpenStatus(app.status)) throw conflict('该业务已办结，不能取消');
    const outcome = await sendUpdate(
      deps,
      app,
      cancelUpdate,
      { reason: body.reason, actor: actorOf(u) },
      `cancel:${app.id}`,
    );
    res.json(await caseAfterUpdate(deps, u, app, outcome));
  });

  return r;
}
