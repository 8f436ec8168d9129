// The contract between the API, the worker and the workflow: task queue, inputs and results,
// every Update and Query, and the search attributes. The API imports these very objects.
import { defineSearchAttributeKey } from '@temporalio/common';
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { ChainStep } from '../domain/chain';
import type { Actor, ApplicationStatus, ChangeType, Decision, Stage } from '../domain/types';

export const DEFAULT_TASK_QUEUE = 'xueji-applications';

/** Workflow ids are business keys, so a retried start can never create a second case. */
export const workflowIdFor = (applicationId: number): string => `application-${applicationId}`;

export interface ApplicationWorkflowInput {
  applicationId: number;
  type: ChangeType;
  /** The organisation that filed the case (for a transfer: the receiving school). */
  applicantOrgCode: string;
  chain: ChainStep[];
  round: number;
}

export interface ApplicationWorkflowResult {
  applicationId: number;
  status: ApplicationStatus;
}

export interface DecideInput {
  stage: Stage;
  decision: Decision;
  comment: string | null;
  actor: Actor;
  /**
   * An administrator deciding in place of the stage's organisation (POST /api/admin/applications/:id/override):
   * allowed only with a reason, which the audit trail keeps. Absent for every ordinary decision.
   */
  override?: { reason: string };
}

export interface WithdrawInput {
  reason: string;
  actor: Actor;
}

/** An administrator ends a case that cannot go on (wrong data, duplicate filing …). */
export type CancelInput = WithdrawInput;

/** What the applicant corrected before sending a returned case round again; unset fields stay. */
export interface Corrections {
  reason?: string;
  effectiveDate?: string;
  details?: Record<string, unknown> | null;
}

export interface ResubmitInput {
  corrections: Corrections;
  actor: Actor;
}

/** What the read model says after a message was handled. */
export interface Outcome {
  status: ApplicationStatus;
  currentStage: Stage | null;
  currentOrgCode: string | null;
}

export interface ApplicationState extends Outcome {
  applicationId: number;
  round: number;
  chain: ChainStep[];
}

/**
 * Human decisions are Updates with a validator, not Signals: the clerk must learn at once whether
 * the decision was taken (wrong organisation, stale stage, closed case), and a rejected Update
 * leaves no trace in the history.
 */
export const decideUpdate = defineUpdate<Outcome, [DecideInput]>('decide');
export const withdrawUpdate = defineUpdate<Outcome, [WithdrawInput]>('withdraw');
export const cancelUpdate = defineUpdate<Outcome, [CancelInput]>('cancel');
export const resubmitUpdate = defineUpdate<Outcome, [ResubmitInput]>('resubmit');
export const stateQuery = defineQuery<ApplicationState>('state');

/** Failure types thrown by the validators; the API maps them to HTTP statuses. */
export const Rejection = {
  WrongOrganisation: 'WrongOrganisation',
  StaleStage: 'StaleStage',
  CaseClosed: 'CaseClosed',
  CommentRequired: 'CommentRequired',
  NotSupported: 'NotSupported',
  NotReturned: 'NotReturned',
  AdminOnly: 'AdminOnly',
} as const;
export type RejectionType = (typeof Rejection)[keyof typeof Rejection];

/** Custom search attributes, so `temporal workflow list --query` finds cases too. No personal data here. */
export const SA = {
  stage: defineSearchAttributeKey('XjStage', 'KEYWORD'),
  holderOrg: defineSearchAttributeKey('XjHolderOrg', 'KEYWORD'),
  type: defineSearchAttributeKey('XjChangeType', 'KEYWORD'),
  overdue: defineSearchAttributeKey('XjOverdue', 'BOOL'),
};

export const SEARCH_ATTRIBUTES = [
  { name: SA.stage.name, cliType: 'Keyword', type: SA.stage.type },
  { name: SA.holderOrg.name, cliType: 'Keyword', type: SA.holderOrg.type },
  { name: SA.type.name, cliType: 'Keyword', type: SA.type.type },
  { name: SA.overdue.name, cliType: 'Bool', type: SA.overdue.type },
] as const;
