import {
  allHandlersFinished,
  condition,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { createActivities } from '../activities';
import type { StageDeadline } from '../domain/deadlines';
import type { ApplicationStatus } from '../domain/types';
import {
  cancelUpdate,
  changeDueUpdate,
  decideUpdate,
  remindUpdate,
  Rejection,
  resubmitUpdate,
  SA,
  stateQuery,
  syncUpdate,
  withdrawUpdate,
  type ApplicationState,
  type ApplicationWorkflowInput,
  type ApplicationWorkflowResult,
  type CancelInput,
  type CaseState,
  type ChangeDueInput,
  type DecideInput,
  type DecideOutcome,
  type DueOutcome,
  type Outcome,
  type RejectionType,
  type RemindInput,
  type RemindOutcome,
  type ResubmitInput,
  type WithdrawInput,
} from './messages';
import { WRITE_RETRY } from './retry';
import { assertCleanText, CLOSED, NON_RETRYABLE, reject } from './shared';

type Activities = ReturnType<typeof createActivities>;

/**
 * Every write is a local activity: run by the worker inside the workflow task that handles the message, one short
 * transaction that also writes the mails it causes into the outbox — so an Update costs one workflow task and no
 * task-queue round trip. Retried without limit (a database outage must not lose a decision); the worker records each
 * failed attempt for the stuck view (activities/failures.ts).
 */
const write = proxyLocalActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: {
    initialInterval: WRITE_RETRY.initialIntervalMs,
    backoffCoefficient: WRITE_RETRY.backoffCoefficient,
    maximumInterval: WRITE_RETRY.maximumIntervalMs,
    nonRetryableErrorTypes: NON_RETRYABLE,
  },
});

const REFUSALS: Partial<Record<RejectionType, string>> = {
  [Rejection.StaleStage]: '该业务已不在此审核环节，请刷新后查看当前环节',
  [Rejection.CaseClosed]: '该业务已办结',
  [Rejection.NotReturned]: '该业务未被退回，无需重新提交',
};

/**
 * Cases started with LEAN_PATCH. The chain (from domain/) is fixed at filing time; each stage waits for a decision
 * from the organisation that holds it, with durable timers for its time limit, reminders and escalation.
 *
 * Postgres is the authority on where a case stands; this workflow, on time and on the order of messages. Every
 * write checks the case under its row lock and reports the case back (CaseState), and the workflow adopts that
 * report (newer versions only). A local activity's write commits inside its workflow task, so a crash of the worker
 * or of Temporal after the commit but before the task completed replays the workflow without the message that
 * caused it; adopting what the next write (or timer, or the reconciler's sync) reports brings the two back in step,
 * where a workflow keeping its own copy of the state would disagree with Postgres for good.
 *
 * Validators refuse what the workflow knows to be wrong — a closed case, an earlier stage of this round, an
 * organisation that does not hold the stage named, text that breaks the rule — and let the write decide the rest:
 * what it refuses fails the Update with the same rejection types, which the API maps to HTTP statuses.
 */
export async function leanCase(input: ApplicationWorkflowInput): Promise<ApplicationWorkflowResult> {
  const chain = input.chain;
  const ref = {
    applicationId: input.applicationId,
    ...(input.createdAtMs !== undefined ? { createdAtMs: input.createdAtMs } : {}),
  };
  let status: ApplicationStatus = 'IN_REVIEW';
  let round = input.round;
  let stageIndex = 0;
  let version = -1;
  const isClosed = () => CLOSED.includes(status);
  const current = () => (status === 'IN_REVIEW' ? chain[stageIndex] : null);
  const holder = (): string | null => (status === 'RETURNED' ? input.applicantOrgCode : (current()?.orgCode ?? null));
  const outcome = (): Outcome => ({ status, currentStage: current()?.stage ?? null, currentOrgCode: holder() });
  /** Names the stage being waited on (round and position); changes with every decision, return and resubmit. */
  const stageKey = (): string | null => (status === 'IN_REVIEW' ? `${round}:${stageIndex}` : null);

  /** The current stage's time limit and what its timers did, as Postgres recorded them. */
  let timer = null as (NonNullable<CaseState['stage']> & { key: string }) | null;
  /** Bumped when the current stage's due date changes, to wake its timers. */
  let deadlineVersion = 0;

  const publishSearchAttributes = () => {
    upsertSearchAttributes([
      { key: SA.type, value: input.type },
      { key: SA.stage, value: current()?.stage ?? null },
      { key: SA.holderOrg, value: holder() },
      { key: SA.overdue, value: status === 'IN_REVIEW' && !!timer?.overdue },
    ]);
  };
  publishSearchAttributes();

  /** Takes on the case as a write reported it, unless an earlier-started write already reported something newer. */
  const adopt = (s: CaseState | undefined) => {
    if (!s || s.version < version) return;
    version = s.version;
    status = s.status;
    round = s.round;
    if (s.currentStage) {
      const i = chain.findIndex((c) => c.stage === s.currentStage);
      if (i >= 0) stageIndex = i;
    }
    const key = stageKey();
    const before = timer?.deadline?.dueAtMs;
    timer = key && s.stage ? { key, ...s.stage } : null;
    if (timer && timer.deadline?.dueAtMs !== before) deadlineVersion += 1;
    publishSearchAttributes();
  };

  const refuseIf = (refused: RejectionType | undefined) => {
    if (refused) reject(refused, REFUSALS[refused] ?? '该业务已变化，请刷新后查看');
  };

  const dueOutcome = (d: StageDeadline): DueOutcome => ({
    dueDate: d.dueDate,
    dueAtMs: d.dueAtMs,
    provisional: d.provisional,
  });

  setHandler(stateQuery, (): ApplicationState => ({
    ...outcome(),
    applicationId: input.applicationId,
    round,
    chain,
    deadline:
      timer?.deadline && status === 'IN_REVIEW'
        ? {
            ...dueOutcome(timer.deadline),
            overdue: timer.overdue,
            remindersSent: timer.remindersSent,
            escalated: timer.escalated,
          }
        : null,
  }));

  setHandler(
    decideUpdate,
    async (d: DecideInput): Promise<DecideOutcome> => {
      const index = chain.findIndex((c) => c.stage === d.stage);
      const last = index === chain.length - 1;
      const r = await write.recordDecision({
        applicationId: input.applicationId,
        round: d.round ?? round,
        stage: d.stage,
        decision: d.decision,
        comment: d.comment,
        actor: d.actor,
        next: d.decision === 'APPROVE' && !last ? chain[index + 1] : null,
        finalStatus:
          d.decision === 'RETURN' ? 'RETURNED' : d.decision === 'REJECT' ? 'REJECTED' : last ? 'APPROVED' : null,
        ...(d.override ? { override: { reason: d.override.reason } } : {}),
      });
      adopt(r.state);
      refuseIf(r.refused);
      // What was written comes back to the API, which then need not read the case again.
      return { ...outcome(), ...(r.written ? { written: r.written } : {}) };
    },
    {
      validator: (d: DecideInput) => {
        if (isClosed()) reject(Rejection.CaseClosed, '该业务已办结，不能再审核');
        const index = chain.findIndex((c) => c.stage === d.stage);
        if (index < 0) reject(Rejection.StaleStage, '该业务没有此审核环节');
        const thisRound = d.round === undefined || d.round === round;
        if (thisRound && status === 'RETURNED') {
          reject(Rejection.StaleStage, '该业务已退回申请学校修改，重新提交后才能审核');
        }
        if (thisRound && index < stageIndex) {
          reject(Rejection.StaleStage, '该业务已不在此审核环节，请刷新后查看当前环节');
        }
        if (d.override) {
          // An administrator never decides as a matter of course: only through an explicit, reasoned override.
          if (d.actor.role !== 'ADMIN') reject(Rejection.AdminOnly, '只有管理员可以代为审核');
          if (!d.override.reason?.trim()) reject(Rejection.CommentRequired, '管理员代为审核必须填写原因');
        } else if (d.actor.orgCode !== chain[index].orgCode) {
          reject(Rejection.WrongOrganisation, '当前环节不由您的单位办理');
        }
        if (d.decision !== 'APPROVE' && !d.comment?.trim()) {
          reject(Rejection.CommentRequired, '不同意或退回时必须填写理由');
        }
        assertCleanText({ comment: d.comment, ...(d.override ? { reason: d.override.reason } : {}) });
      },
    },
  );

  setHandler(
    resubmitUpdate,
    async (r: ResubmitInput): Promise<Outcome> => {
      const w = await write.startRound({
        applicationId: input.applicationId,
        round: (r.round ?? round) + 1,
        chain,
        corrections: r.corrections,
        actor: r.actor,
      });
      adopt(w.state);
      refuseIf(w.refused);
      return outcome();
    },
    {
      validator: (r: ResubmitInput) => {
        if (isClosed()) reject(Rejection.CaseClosed, '该业务已办结，不能重新提交');
        if (r.actor.orgCode !== input.applicantOrgCode) {
          reject(Rejection.WrongOrganisation, '只有申请学校可以修改并重新提交');
        }
        assertCleanText({ ...r.corrections });
      },
    },
  );

  const close = async (to: 'WITHDRAWN' | 'CANCELLED', w: WithdrawInput | CancelInput): Promise<Outcome> => {
    const r = await write.closeApplication({
      applicationId: input.applicationId,
      status: to,
      reason: w.reason,
      actor: w.actor,
    });
    adopt(r.state);
    refuseIf(r.refused);
    return outcome();
  };

  setHandler(withdrawUpdate, (w: WithdrawInput) => close('WITHDRAWN', w), {
    validator: (w: WithdrawInput) => {
      if (isClosed()) reject(Rejection.CaseClosed, '该业务已办结，不能撤销');
      if (w.actor.orgCode !== input.applicantOrgCode) {
        reject(Rejection.WrongOrganisation, '只有申请学校可以撤销该业务');
      }
      assertCleanText({ reason: w.reason });
    },
  });

  setHandler(cancelUpdate, (c: CancelInput) => close('CANCELLED', c), {
    validator: (c: CancelInput) => {
      if (isClosed()) reject(Rejection.CaseClosed, '该业务已办结，不能取消');
      if (c.actor.role !== 'ADMIN') reject(Rejection.AdminOnly, '只有管理员可以取消业务');
      if (!c.reason.trim()) reject(Rejection.CommentRequired, '取消业务必须填写原因');
      assertCleanText({ reason: c.reason });
    },
  });

  setHandler(syncUpdate, async (): Promise<Outcome> => {
    adopt(await write.readCase({ applicationId: input.applicationId }));
    return outcome();
  });

  /** Validates an administrator's action on the current stage's time limit. */
  const assertTimedStage = (actor: RemindInput['actor'], stage?: string) => {
    if (isClosed()) reject(Rejection.CaseClosed, '该业务已办结');
    if (actor.role !== 'ADMIN') reject(Rejection.AdminOnly, '只有管理员可以催办或调整办理期限');
    const step = current();
    if (!step) reject(Rejection.StaleStage, '该业务已退回申请学校修改，当前没有审核环节');
    if (stage !== undefined && stage !== step.stage) {
      reject(Rejection.StaleStage, '该业务已不在此审核环节，请刷新后查看当前环节');
    }
    if (!timer?.deadline) reject(Rejection.NoDeadline, '该业务的办理期限尚未确定，请稍后再试');
  };

  setHandler(
    remindUpdate,
    async (r: RemindInput): Promise<RemindOutcome> => {
      const step = current()!;
      const n = (timer?.remindersSent ?? 0) + 1;
      const m = await write.markStage({
        applicationId: input.applicationId,
        round,
        stage: step.stage,
        event: 'reminder',
        n,
        actor: r.actor,
      });
      adopt(m.state);
      return { remindersSent: timer?.remindersSent ?? n };
    },
    { validator: (r: RemindInput) => assertTimedStage(r.actor) },
  );

  setHandler(
    changeDueUpdate,
    async (c: ChangeDueInput): Promise<DueOutcome> => {
      const d = await write.changeDue({
        applicationId: input.applicationId,
        round,
        stage: c.stage,
        ...(c.dueDate ? { dueDate: c.dueDate } : {}),
        reason: c.reason,
        actor: c.actor,
      });
      adopt(d.state);
      deadlineVersion += 1;
      return dueOutcome(d);
    },
    {
      validator: (c: ChangeDueInput) => {
        assertTimedStage(c.actor, c.stage);
        if (c.dueDate !== undefined && !c.reason.trim()) reject(Rejection.CommentRequired, '延长办理期限必须填写原因');
        assertCleanText({ reason: c.reason });
      },
    },
  );

  /**
   * Runs the current stage's timers until the stage changes: overdue at the due time (search attribute, read model,
   * first reminder to the holder), another reminder every interval, one escalation past the second threshold — each
   * a write that records it and its mail, then reports the case back. Never a decision: a stage left alone stays
   * where it is. The condition wakes at once on a decision, return, withdrawal, cancellation or new due date.
   */
  const watchStage = async (key: string) => {
    for (;;) {
      if (stageKey() !== key || !timer) return;
      const t = timer;
      const d = t.deadline;
      let wakeAt = d ? d.dueAtMs : Infinity;
      if (d && t.overdue) wakeAt = Math.min(t.nextReminderAtMs ?? Infinity, t.escalated ? Infinity : d.escalateAtMs);
      const v = deadlineVersion;
      const woken = () => stageKey() !== key || deadlineVersion !== v;
      const changed =
        wakeAt === Infinity
          ? await condition(woken).then(() => true)
          : await condition(woken, Math.max(wakeAt - Date.now(), 1));
      if (changed || !d) continue;
      const now = Date.now();
      const stage = chain[stageIndex].stage;
      const mark = (event: 'overdue' | 'reminder' | 'escalation', n: number) =>
        write.markStage({ applicationId: input.applicationId, round, stage, event, n });
      if (!t.overdue) {
        if (now >= d.dueAtMs) adopt((await mark('overdue', t.remindersSent + 1)).state);
      } else if (!t.escalated && now >= d.escalateAtMs) {
        adopt((await mark('escalation', 1)).state);
      } else if (t.nextReminderAtMs !== null && now >= t.nextReminderAtMs) {
        adopt((await mark('reminder', t.remindersSent + 1)).state);
      }
    }
  };

  while (!isClosed()) {
    if (status !== 'IN_REVIEW') {
      await condition(() => status === 'IN_REVIEW' || isClosed());
      continue;
    }
    const key = stageKey()!;
    // Let the decision or resubmission that opened this stage finish writing it (and report its due time).
    await condition(allHandlersFinished);
    if (stageKey() !== key) continue;
    // The first stage (opened when the case was filed) has its due time set here; the write also records that the
    // workflow runs.
    if (timer?.key !== key) adopt((await write.openStage({ ...ref, round, stage: chain[stageIndex].stage })).state);
    if (stageKey() !== key) continue;
    publishSearchAttributes();
    await watchStage(key);
  }
  // Let the handler that closed the case finish writing before the run completes.
  await condition(allHandlersFinished);
  return { applicationId: input.applicationId, status };
}
