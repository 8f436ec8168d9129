import type { UpdateDefinition } from '@temporalio/common';
import type { Decision, Stage } from '../../domain/types';
import type { DecideOutcome, Outcome } from '../../workflows/messages';
import type { AppDeps } from '../app';
import type { AuthUser } from '../auth';
import { conflict } from '../errors';
import { httpErrorFromTemporal } from '../temporal-errors';
import { loadVisibleApplication, startWorkflow, toApplicationDto, toApplicationDtoFor } from './applications';
import { reachOfCaseAlone } from './reach';

type App = Awaited<ReturnType<typeof loadVisibleApplication>>;

/** 409 unless the case is open at this very stage (the workflow's validator checks again). */
export function assertDecidable(app: App, stage: Stage): void {
  if (app.status === 'RETURNED') throw conflict('该业务已退回申请学校修改，重新提交后才能审核');
  if (app.status !== 'IN_REVIEW') throw conflict('该业务已办结，不能再审核');
  if (stage !== app.currentStage) throw conflict('该业务已不在此审核环节，请刷新后查看当前环节');
}

/**
 * Sends an Update to the case's workflow (starting it first if the reconciler has not yet) and waits
 * at most UPDATE_TIMEOUT_MS: with no worker polling, an Update would otherwise wait forever. The
 * updateId is a business key, so a retried HTTP request returns the first result instead of acting twice.
 */
export async function sendUpdate<A, R = Outcome>(
  { prisma, temporal, config }: Pick<AppDeps, 'prisma' | 'temporal' | 'config'>,
  app: App,
  update: UpdateDefinition<R, [A]>,
  arg: A,
  updateId: string,
): Promise<R> {
  try {
    if (!app.workflowStartedAt) await startWorkflow(prisma, temporal, config.TEMPORAL_TASK_QUEUE, app);
    const handle = temporal.workflow.getHandle(app.workflowId);
    return await temporal.withDeadline(Date.now() + config.UPDATE_TIMEOUT_MS, () =>
      handle.executeUpdate(update, { args: [arg], updateId }),
    );
  } catch (e) {
    throw httpErrorFromTemporal(e);
  }
}

/**
 * The case as the caller sees it after an Update the workflow accepted, without a second read when it can: a decision's
 * Update answers with what it wrote (decidedAt, the next stage's due time, the pupil's school), which is applied to
 * the case as read before the Update. Other Updates re-read the case. If the database fails meanwhile (it went away
 * after the workflow applied the change) the answer is still the case as read before with the Update's outcome, built
 * with no query at all — the caller's reach from this case alone, organisation names from the steps — because the
 * change was made either way, and the answer never turns it into an error.
 */
export async function caseAfterUpdate(
  { prisma, orgs, logger }: Pick<AppDeps, 'prisma' | 'orgs' | 'logger'>,
  u: AuthUser,
  before: App,
  outcome: DecideOutcome,
  decided?: { stage: Stage; decision: Decision; comment: string | null },
) {
  try {
    const after = decided && outcome.written ? applyOutcome(before, u, outcome, decided) : null;
    // A case the outcome closed is no longer one the caller is a party to: its reach is a query (reachOf).
    return await toApplicationDtoFor(prisma, u, after ?? (await loadVisibleApplication(prisma, u, before.id)), orgs);
  } catch (e) {
    logger.warn(
      { applicationId: before.id, err: String(e) },
      'case not re-read after an accepted update; answering from its result',
    );
    const after = applyOutcome(before, u, outcome, decided);
    const names = { ref: (code: string | null) => orgs.ref(code).catch(() => (code ? { code, name: code } : null)) };
    return toApplicationDto(after, names, 'detail', reachOfCaseAlone(u, after));
  }
}

/** The case read before an Update, with what the Update's outcome says changed. */
function applyOutcome(
  before: App,
  u: AuthUser,
  outcome: DecideOutcome,
  decided?: { stage: Stage; decision: Decision; comment: string | null },
): App {
  const w = outcome.written;
  const at = new Date(w?.decidedAtMs || Date.now());
  const steps = before.steps.map((s) => {
    if (s.round !== before.round) return s;
    if (decided && s.stage === decided.stage && !s.decision) {
      return { ...s, decision: decided.decision, comment: decided.comment, actorName: u.displayName, decidedAt: at };
    }
    if (s.stage === outcome.currentStage && outcome.status === 'IN_REVIEW' && !s.openedAt) {
      return {
        ...s,
        openedAt: at,
        dueAt: w?.nextDueAtMs ? new Date(w.nextDueAtMs) : s.dueAt,
        dueProvisional: w?.nextDueProvisional ?? s.dueProvisional,
      };
    }
    return s;
  });
  const closed = outcome.status !== 'IN_REVIEW' && outcome.status !== 'RETURNED';
  // A resubmission starts the next round (its steps are not known here: the answer shows the round without them).
  const resubmitted = before.status === 'RETURNED' && outcome.status === 'IN_REVIEW';
  return {
    ...before,
    round: resubmitted ? before.round + 1 : before.round,
    status: outcome.status,
    currentStage: outcome.currentStage,
    currentOrgCode: outcome.currentOrgCode,
    updatedAt: at,
    ...(closed ? { closedAt: at } : {}),
    student: { ...before.student, ...(w?.schoolCode ? { schoolCode: w.schoolCode } : {}) },
    steps,
  };
}
