import {
  allHandlersFinished,
  condition,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { createActivities } from '../activities';
import type { NotifyInput } from '../activities/notify';
import type { ChainStep } from '../domain/chain';
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
  withdrawUpdate,
  type ApplicationState,
  type ApplicationWorkflowInput,
  type ApplicationWorkflowResult,
  type CancelInput,
  type ChangeDueInput,
  type DecideInput,
  type DueOutcome,
  type Outcome,
  type RemindInput,
  type RemindOutcome,
  type ResubmitInput,
  type WithdrawInput,
} from './messages';

import { assertCleanText, CLOSED, NON_RETRYABLE, reject } from './shared';
import { LEGACY_RETRY } from './retry';

type Activities = ReturnType<typeof createActivities>;

const { recordDecision, closeApplication, startRound, openStage, changeDue, markStage } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  // A database outage must not lose a decision: retry without limit, backing off to one minute.
  retry: {
    initialInterval: LEGACY_RETRY.initialIntervalMs,
    backoffCoefficient: LEGACY_RETRY.backoffCoefficient,
    maximumInterval: LEGACY_RETRY.maximumIntervalMs,
    nonRetryableErrorTypes: NON_RETRYABLE,
  },
});

// Mail never holds a case up: it is sent beside the chain, retried without limit (an SMTP outage shows in the
// administrator's stuck view as a failing activity) and awaited only before the workflow completes.
const { notify } = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  // notify heartbeats every 2 s: a worker that died mid-send is noticed in 10 s, not 2 minutes.
  heartbeatTimeout: '10 seconds',
  retry: {
    initialInterval: '2 seconds',
    backoffCoefficient: 2,
    maximumInterval: '10 minutes',
    nonRetryableErrorTypes: [...NON_RETRYABLE, 'MailWithoutRecipientsError'],
  },
});

/**
 * Cases started before LEAN_PATCH (histories v1–v4): each database write an ordinary activity, each mail an activity
 * of its own; kept unchanged in the commands it issues so that those cases replay and finish on this worker. The
 * chain (from domain/) is fixed at filing time and each stage waits for a decision from the organisation that holds
 * it. All human actions arrive as Updates whose validators enforce the strict order; the handlers change the
 * in-memory state synchronously, before their first await, so an Update validated meanwhile already sees the new
 * state.
 *
 * Versioning: cases live for weeks, so this code must replay the histories of cases started by earlier
 * versions (workflows/__histories__, replayed in the test suite). RETURN, resubmit and cancel were
 * added after v1 as new Updates and a new decision value: a v1 history never contains them, and the
 * commands v1 issued are issued in the same order here, so no patch marker is needed. The administrator's
 * override is the same decide Update with one more optional field: it changes what the validator accepts
 * and what the activity is given, never which commands are issued, so it needs no patch marker either.
 */
export async function legacyCase(input: ApplicationWorkflowInput, timed: boolean): Promise<ApplicationWorkflowResult> {
  let round = input.round;
  let stageIndex = 0;
  let status: ApplicationStatus = 'IN_REVIEW';
  const isClosed = () => CLOSED.includes(status);
  const current = (): ChainStep | null => (status === 'IN_REVIEW' ? input.chain[stageIndex] : null);
  const holder = (): string | null => (status === 'RETURNED' ? input.applicantOrgCode : (current()?.orgCode ?? null));
  const outcome = (): Outcome => ({ status, currentStage: current()?.stage ?? null, currentOrgCode: holder() });
  /** Names the stage being waited on (round and position); changes with every decision, return and resubmit. */
  const stageKey = (): string | null => (status === 'IN_REVIEW' ? `${round}:${stageIndex}` : null);

  // The current stage's time limit and what its timers have done; reset whenever a stage opens.
  let deadline: StageDeadline | null = null;
  let deadlineVersion = 0;
  let overdue = false;
  let reminders = 0;
  let escalations = 0;
  let nextReminderAtMs = 0;

  const publishSearchAttributes = () => {
    upsertSearchAttributes([
      { key: SA.type, value: input.type },
      { key: SA.stage, value: current()?.stage ?? null },
      { key: SA.holderOrg, value: holder() },
      ...(timed ? [{ key: SA.overdue, value: overdue && !isClosed() && status === 'IN_REVIEW' }] : []),
    ]);
  };
  publishSearchAttributes();

  const mails: Promise<unknown>[] = [];
  /** Sends a mail beside the chain (not awaited here); a mail that cannot be sent at all is dropped, never the case. */
  const mail = (m: Omit<NotifyInput, 'applicationId'>) => {
    if (!timed) return;
    mails.push(notify({ applicationId: input.applicationId, ...m }).catch(() => undefined));
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
    chain: input.chain,
    deadline:
      deadline && status === 'IN_REVIEW'
        ? { ...dueOutcome(deadline), overdue, remindersSent: reminders, escalated: escalations > 0 }
        : null,
  }));

  setHandler(
    decideUpdate,
    async (d: DecideInput): Promise<Outcome> => {
      const step = input.chain[stageIndex];
      const last = stageIndex === input.chain.length - 1;
      let next: ChainStep | null = null;
      if (d.decision === 'APPROVE' && !last) {
        stageIndex += 1;
        next = input.chain[stageIndex];
      } else if (d.decision === 'RETURN') {
        status = 'RETURNED';
      } else {
        status = d.decision === 'APPROVE' ? 'APPROVED' : 'REJECTED';
      }
      publishSearchAttributes();
      await recordDecision({
        applicationId: input.applicationId,
        round,
        stage: step.stage,
        decision: d.decision,
        comment: d.comment,
        actor: d.actor,
        next,
        finalStatus: isClosed() || status === 'RETURNED' ? status : null,
        ...(d.override ? { override: { reason: d.override.reason } } : {}),
      });
      mail({
        round,
        stage: step.stage,
        kind: 'decision',
        decision: { decision: d.decision, comment: d.comment, orgCode: step.orgCode, nextStage: next?.stage ?? null },
      });
      if (status === 'APPROVED' || status === 'REJECTED') {
        mail({ round, stage: 'END', kind: 'finished', finished: { status, reason: d.comment } });
      }
      return outcome();
    },
    {
      validator: (d: DecideInput) => {
        const step = current();
        if (isClosed()) reject(Rejection.CaseClosed, '该业务已办结，不能再审核');
        if (!step) reject(Rejection.StaleStage, '该业务已退回申请学校修改，重新提交后才能审核');
        if (d.stage !== step.stage) reject(Rejection.StaleStage, '该业务已不在此审核环节，请刷新后查看当前环节');
        if (d.override) {
          // An administrator never decides as a matter of course: only through an explicit, reasoned override.
          if (d.actor.role !== 'ADMIN') reject(Rejection.AdminOnly, '只有管理员可以代为审核');
          if (!d.override.reason?.trim()) reject(Rejection.CommentRequired, '管理员代为审核必须填写原因');
        } else if (d.actor.orgCode !== step.orgCode) {
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
      round += 1;
      stageIndex = 0;
      status = 'IN_REVIEW';
      publishSearchAttributes();
      await startRound({
        applicationId: input.applicationId,
        round,
        chain: input.chain,
        corrections: r.corrections,
        actor: r.actor,
      });
      return outcome();
    },
    {
      validator: (r: ResubmitInput) => {
        if (isClosed()) reject(Rejection.CaseClosed, '该业务已办结，不能重新提交');
        if (status !== 'RETURNED') reject(Rejection.NotReturned, '该业务未被退回，无需重新提交');
        if (r.actor.orgCode !== input.applicantOrgCode) {
          reject(Rejection.WrongOrganisation, '只有申请学校可以修改并重新提交');
        }
        assertCleanText({ ...r.corrections });
      },
    },
  );

  const close = async (to: 'WITHDRAWN' | 'CANCELLED', w: WithdrawInput | CancelInput): Promise<Outcome> => {
    status = to;
    publishSearchAttributes();
    await closeApplication({ applicationId: input.applicationId, status: to, reason: w.reason, actor: w.actor });
    mail({ round, stage: 'END', kind: 'finished', finished: { status: to, reason: w.reason } });
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

  /** Validates an administrator's action on the current stage's time limit. */
  const assertTimedStage = (actor: RemindInput['actor'], stage?: string) => {
    if (isClosed()) reject(Rejection.CaseClosed, '该业务已办结');
    if (actor.role !== 'ADMIN') reject(Rejection.AdminOnly, '只有管理员可以催办或调整办理期限');
    const step = current();
    if (!step) reject(Rejection.StaleStage, '该业务已退回申请学校修改，当前没有审核环节');
    if (stage !== undefined && stage !== step.stage) {
      reject(Rejection.StaleStage, '该业务已不在此审核环节，请刷新后查看当前环节');
    }
    if (!timed || !deadline)
      reject(Rejection.NoDeadline, '该业务没有办理期限（创建于启用办理期限之前，或环节刚刚开始）');
  };

  setHandler(
    remindUpdate,
    async (r: RemindInput): Promise<RemindOutcome> => {
      const step = current()!;
      reminders += 1;
      const n = reminders;
      const ref = { applicationId: input.applicationId, round, stage: step.stage };
      await markStage({ ...ref, event: 'reminder', n, actor: r.actor });
      mail({ round: ref.round, stage: step.stage, kind: 'reminder', n });
      return { remindersSent: n };
    },
    { validator: (r: RemindInput) => assertTimedStage(r.actor) },
  );

  setHandler(
    changeDueUpdate,
    async (c: ChangeDueInput): Promise<DueOutcome> => {
      const key = stageKey();
      const d = await changeDue({
        applicationId: input.applicationId,
        round,
        stage: c.stage,
        ...(c.dueDate ? { dueDate: c.dueDate } : {}),
        reason: c.reason,
        actor: c.actor,
      });
      if (stageKey() === key) {
        deadline = d;
        deadlineVersion += 1;
        if (d.dueAtMs > Date.now()) {
          // A due time ahead again: not overdue, and escalated again only if it passes the new threshold.
          overdue = false;
          escalations = 0;
          publishSearchAttributes();
        }
      }
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
   * first reminder to the holder), another reminder every interval, one escalation past the second threshold.
   * Never a decision: a stage left alone stays where it is. The condition wakes at once on a decision, return,
   * withdrawal, cancellation or new due date, so no timer outlives its stage.
   */
  const watchStage = async (key: string, step: ChainStep) => {
    const left = () => stageKey() !== key;
    const ref = { applicationId: input.applicationId, round, stage: step.stage };
    for (;;) {
      const d = deadline!;
      let wakeAt = d.dueAtMs;
      if (overdue) wakeAt = Math.min(nextReminderAtMs, escalations === 0 ? d.escalateAtMs : Infinity);
      const version = deadlineVersion;
      const changed = await condition(() => left() || deadlineVersion !== version, Math.max(wakeAt - Date.now(), 1));
      if (left()) return;
      if (changed) continue;
      const now = Date.now();
      if (!overdue) {
        if (now < d.dueAtMs) continue;
        overdue = true;
        publishSearchAttributes();
        reminders += 1;
        const r = await markStage({ ...ref, event: 'overdue', n: reminders });
        nextReminderAtMs = r.nextReminderAtMs;
        mail({ round: ref.round, stage: step.stage, kind: 'reminder', n: reminders });
      } else if (escalations === 0 && now >= d.escalateAtMs) {
        escalations += 1;
        await markStage({ ...ref, event: 'escalation', n: escalations });
        mail({ round: ref.round, stage: step.stage, kind: 'escalation', n: escalations });
      } else if (now >= nextReminderAtMs) {
        reminders += 1;
        const r = await markStage({ ...ref, event: 'reminder', n: reminders });
        nextReminderAtMs = r.nextReminderAtMs;
        mail({ round: ref.round, stage: step.stage, kind: 'reminder', n: reminders });
      }
    }
  };

  if (timed) {
    while (!isClosed()) {
      if (status !== 'IN_REVIEW') {
        await condition(() => status === 'IN_REVIEW' || isClosed());
        continue;
      }
      const key = stageKey()!;
      // Let the decision or resubmission that opened this stage finish writing the read model first.
      await condition(allHandlersFinished);
      if (stageKey() !== key) continue;
      const step = input.chain[stageIndex];
      overdue = false;
      reminders = 0;
      escalations = 0;
      deadline = null;
      const d = await openStage({ applicationId: input.applicationId, round, stage: step.stage });
      if (stageKey() !== key) continue;
      deadline = d;
      publishSearchAttributes();
      // The applicant school holding the first stage filed the case itself: no "a case has reached you" mail.
      if (step.orgCode !== input.applicantOrgCode) mail({ round, stage: step.stage, kind: 'task' });
      await watchStage(key, step);
    }
  } else {
    await condition(isClosed);
  }
  // Let the handler that closed the case finish writing the read model before the run completes.
  await condition(allHandlersFinished);
  // The closing notices go out before the run ends (a mail server outage keeps it open, and visible, until then).
  await Promise.all(mails);
  return { applicationId: input.applicationId, status };
}
