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
import {
  decideUpdate,
  Rejection,
  SA,
  stateQuery,
  withdrawUpdate,
  type ApplicationState,
  type ApplicationWorkflowInput,
  type ApplicationWorkflowResult,
  type DecideInput,
  type Outcome,
  type RejectionType,
  type WithdrawInput,
} from './messages';
import type { ApplicationStatus } from '../domain/types';

const { recordDecision, closeApplication } = proxyActivities<ReturnType<typeof createActivities>>({
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

/**
 * One durable workflow per application. The chain (from domain/) is fixed at filing time; each stage
 * waits for a decision from the organisation that holds it. All decisions arrive as Updates whose
 * validators enforce the strict order; the handlers change the in-memory state synchronously, before
 * their first await, so a second Update validated meanwhile already sees the new stage.
 */
export async function applicationWorkflow(input: ApplicationWorkflowInput): Promise<ApplicationWorkflowResult> {
  let stageIndex = 0;
  let status: ApplicationStatus = 'IN_REVIEW';
  const isClosed = () => status !== 'IN_REVIEW';
  const current = (): ChainStep | null => (isClosed() ? null : input.chain[stageIndex]);
  const outcome = (): Outcome => ({
    status,
    currentStage: current()?.stage ?? null,
    currentOrgCode: current()?.orgCode ?? null,
  });

  const publishSearchAttributes = () => {
    const step = current();
    upsertSearchAttributes([
      { key: SA.type, value: input.type },
      { key: SA.stage, value: step?.stage ?? null },
      { key: SA.holderOrg, value: step?.orgCode ?? null },
    ]);
  };
  publishSearchAttributes();

  setHandler(stateQuery, (): ApplicationState => ({
    ...outcome(),
    applicationId: input.applicationId,
    round: input.round,
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
      } else {
        status = d.decision === 'APPROVE' ? 'APPROVED' : 'REJECTED';
      }
      publishSearchAttributes();
      await recordDecision({
        applicationId: input.applicationId,
        round: input.round,
        stage: step.stage,
        decision: d.decision,
        comment: d.comment,
        actor: d.actor,
        next,
        finalStatus: isClosed() ? status : null,
      });
      return outcome();
    },
    {
      validator: (d: DecideInput) => {
        const step = current();
        if (!step) reject(Rejection.CaseClosed, '该业务已办结，不能再审核');
        if (d.stage !== step.stage) reject(Rejection.StaleStage, '该业务已不在此审核环节，请刷新后查看当前环节');
        if (d.actor.orgCode !== step.orgCode) reject(Rejection.WrongOrganisation, '当前环节不由您的单位办理');
        if (d.decision === 'RETURN') reject(Rejection.NotSupported, '暂不支持退回，请选择同意或不同意');
        if (d.decision !== 'APPROVE' && !d.comment?.trim()) reject(Rejection.CommentRequired, '不同意时必须填写理由');
      },
    },
  );

  setHandler(
    withdrawUpdate,
    async (w: WithdrawInput): Promise<Outcome> => {
      status = 'WITHDRAWN';
      publishSearchAttributes();
      await closeApplication({
        applicationId: input.applicationId,
        status: 'WITHDRAWN',
        reason: w.reason,
        actor: w.actor,
      });
      return outcome();
    },
    {
      validator: (w: WithdrawInput) => {
        if (isClosed()) reject(Rejection.CaseClosed, '该业务已办结，不能撤销');
        if (w.actor.orgCode !== input.applicantOrgCode) {
          reject(Rejection.WrongOrganisation, '只有申请学校可以撤销该业务');
        }
      },
    },
  );

  await condition(isClosed);
  // Let the handler that closed the case finish writing the read model before the run completes.
  await condition(allHandlersFinished);
  return { applicationId: input.applicationId, status };
}
