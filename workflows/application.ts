import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { createActivities } from '../activities';
import type { ChainStep } from '../domain/chain';
import type { ApplicationStatus } from '../domain/types';
import {
  cancelUpdate,
  decideUpdate,
  Rejection,
  resubmitUpdate,
  SA,
  stateQuery,
  withdrawUpdate,
  type ApplicationState,
  type ApplicationWorkflowInput,
  type ApplicationWorkflowResult,
  type CancelInput,
  type DecideInput,
  type Outcome,
  type RejectionType,
  type ResubmitInput,
  type WithdrawInput,
} from './messages';

const { recordDecision, closeApplication, startRound } = proxyActivities<ReturnType<typeof createActivities>>({
  startToCloseTimeout: '30 seconds',
  // A database outage must not lose a decision: retry without limit, backing off to one minute.
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    nonRetryableErrorTypes: ['ApplicationMissingError', 'InvariantViolationError'],
  },
});

function reject(type: RejectionType, message: string): never {
  throw ApplicationFailure.create({ type, message, nonRetryable: true });
}

const CLOSED: readonly ApplicationStatus[] = ['APPROVED', 'REJECTED', 'WITHDRAWN', 'CANCELLED'];

/**
 * One durable workflow per application, for every change type: the chain (from domain/) is fixed at
 * filing time and each stage waits for a decision from the organisation that holds it. All human
 * actions arrive as Updates whose validators enforce the strict order; the handlers change the
 * in-memory state synchronously, before their first await, so an Update validated meanwhile already
 * sees the new state.
 *
 * Versioning: cases live for weeks, so this code must replay the histories of cases started by earlier
 * versions (workflows/__histories__, replayed in the test suite). RETURN, resubmit and cancel were
 * added after v1 as new Updates and a new decision value: a v1 history never contains them, and the
 * commands v1 issued are issued in the same order here, so no patch marker is needed. The administrator's
 * override is the same decide Update with one more optional field: it changes what the validator accepts
 * and what the activity is given, never which commands are issued, so it needs no patch marker either.
 */
export async function applicationWorkflow(input: ApplicationWorkflowInput): Promise<ApplicationWorkflowResult> {
  let round = input.round;
  let stageIndex = 0;
  let status: ApplicationStatus = 'IN_REVIEW';
  const isClosed = () => CLOSED.includes(status);
  const current = (): ChainStep | null => (status === 'IN_REVIEW' ? input.chain[stageIndex] : null);
  const holder = (): string | null => (status === 'RETURNED' ? input.applicantOrgCode : (current()?.orgCode ?? null));
  const outcome = (): Outcome => ({ status, currentStage: current()?.stage ?? null, currentOrgCode: holder() });

  const publishSearchAttributes = () => {
    upsertSearchAttributes([
      { key: SA.type, value: input.type },
      { key: SA.stage, value: current()?.stage ?? null },
      { key: SA.holderOrg, value: holder() },
    ]);
  };
  publishSearchAttributes();

  setHandler(stateQuery, (): ApplicationState => ({
    ...outcome(),
    applicationId: input.applicationId,
    round,
    chain: input.chain,
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
      },
    },
  );

  const close = async (to: 'WITHDRAWN' | 'CANCELLED', w: WithdrawInput | CancelInput): Promise<Outcome> => {
    status = to;
    publishSearchAttributes();
    await closeApplication({ applicationId: input.applicationId, status: to, reason: w.reason, actor: w.actor });
    return outcome();
  };

  setHandler(withdrawUpdate, (w: WithdrawInput) => close('WITHDRAWN', w), {
    validator: (w: WithdrawInput) => {
      if (isClosed()) reject(Rejection.CaseClosed, '该业务已办结，不能撤销');
      if (w.actor.orgCode !== input.applicantOrgCode) {
        reject(Rejection.WrongOrganisation, '只有申请学校可以撤销该业务');
      }
    },
  });

  setHandler(cancelUpdate, (c: CancelInput) => close('CANCELLED', c), {
    validator: (c: CancelInput) => {
      if (isClosed()) reject(Rejection.CaseClosed, '该业务已办结，不能取消');
      if (c.actor.role !== 'ADMIN') reject(Rejection.AdminOnly, '只有管理员可以取消业务');
      if (!c.reason.trim()) reject(Rejection.CommentRequired, '取消业务必须填写原因');
    },
  });

  await condition(isClosed);
  // Let the handler that closed the case finish writing the read model before the run completes.
  await condition(allHandlersFinished);
  return { applicationId: input.applicationId, status };
}
