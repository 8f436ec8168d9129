// The contract between the API, the worker and the workflow: task queue, inputs and results,
// every Update and Query, and the search attributes. The API imports these very objects.
import { defineSearchAttributeKey } from '@temporalio/common';
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { ChainStep } from '../domain/chain';
import type { StageDeadline } from '../domain/deadlines';
import type { Actor, ApplicationStatus, ChangeType, Decision, Stage } from '../domain/types';

export const DEFAULT_TASK_QUEUE = 'xueji-applications';

/** Workflow ids are business keys, so a retried start can never create a second case. */
export const WORKFLOW_ID_PREFIX = 'application-';
export const workflowIdFor = (applicationId: number): string => `${WORKFLOW_ID_PREFIX}${applicationId}`;

export interface ApplicationWorkflowInput {
  applicationId: number;
  type: ChangeType;
  /** The organisation that filed the case (for a transfer: the receiving school). */
  applicantOrgCode: string;
  chain: ChainStep[];
  round: number;
  /**
   * When the case's row was created (epoch ms): with the id, what names the row this workflow belongs to (ids restart
   * if a database is rebuilt). The workflow's first write records that it runs only on that very row.
   */
  createdAtMs?: number;
}

export interface ApplicationWorkflowResult {
  applicationId: number;
  status: ApplicationStatus;
}

export interface DecideInput {
  stage: Stage;
  /** The round the decision is for (the API's reading of the case); lean workflows check it against Postgres. */
  round?: number;
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
  /** The round being resubmitted (the API's reading of the case); lean workflows start the next one. */
  round?: number;
}

/** What the read model says after a message was handled. */
export interface Outcome {
  status: ApplicationStatus;
  currentStage: Stage | null;
  currentOrgCode: string | null;
}

/**
 * What a decision wrote, as its Update answers it: enough for the API to show the case after the decision without
 * reading it again. Nothing personal (it is kept in Temporal's history): times, a due date, a school code.
 */
export interface DecisionWritten {
  /** When the step was decided (epoch ms); 0 when the write found it decided before (a retry). */
  decidedAtMs: number;
  /** The stage the decision opened: its due time (epoch ms) and whether that is provisional. */
  nextDueAtMs: number | null;
  nextDueProvisional: boolean;
  /** The pupil's school after the decision (the receiving school once a transfer is approved). */
  schoolCode: string | null;
}

export type DecideOutcome = Outcome & { written?: DecisionWritten };

/**
 * A case as Postgres holds it, as every write of a lean workflow reports it back. The workflow adopts it: Postgres is
 * the authority on where a case stands, the workflow on time. (A write can land while the workflow task that made it
 * is lost — a crash of the worker or of Temporal just after — and the workflow then replays without it; adopting
 * what the next write reports brings it back in step instead of leaving the two to disagree.)
 */
export interface CaseState extends Outcome {
  round: number;
  /** The case's write count (Application.version): a state older than one already adopted is ignored. */
  version: number;
  /** The current stage's time limit and what its timers did, as recorded; null when no stage is current. */
  stage: {
    deadline: StageDeadline | null;
    overdue: boolean;
    remindersSent: number;
    escalated: boolean;
    /** When the next reminder is due (epoch ms), once the stage is overdue. */
    nextReminderAtMs: number | null;
  } | null;
}

/** A write of a lean workflow: what it refused (a rejection type, the case having moved on) and the case after it. */
export interface WriteResult {
  refused?: RejectionType;
  state: CaseState;
}

/** An administrator's "remind now" (催办): one more reminder mail to the holder organisation. */
export interface RemindInput {
  actor: Actor;
}

export interface RemindOutcome {
  /** Reminders of the current stage so far, this one included. */
  remindersSent: number;
}

/**
 * A stage's due date changed: an administrator's extension (dueDate set, with a reason), or the recomputation of a
 * provisional due date after the year's holidays were loaded (no dueDate).
 */
export interface ChangeDueInput {
  stage: Stage;
  /** 'YYYY-MM-DD', due by the end of that day in China. */
  dueDate?: string;
  reason: string;
  actor: Actor;
}

export interface DueOutcome {
  dueDate: string;
  dueAtMs: number;
  provisional: boolean;
}

export interface ApplicationState extends Outcome {
  applicationId: number;
  round: number;
  chain: ChainStep[];
  /** The current stage's time limit; null for a returned or closed case, or one started before time limits. */
  deadline: (DueOutcome & { overdue: boolean; remindersSent: number; escalated: boolean }) | null;
}

/**
 * Human decisions are Updates with a validator, not Signals: the clerk must learn at once whether
 * the decision was taken (wrong organisation, stale stage, closed case), and a rejected Update
 * leaves no trace in the history.
 */
export const decideUpdate = defineUpdate<DecideOutcome, [DecideInput]>('decide');
export const withdrawUpdate = defineUpdate<Outcome, [WithdrawInput]>('withdraw');
export const cancelUpdate = defineUpdate<Outcome, [CancelInput]>('cancel');
export const resubmitUpdate = defineUpdate<Outcome, [ResubmitInput]>('resubmit');
export const remindUpdate = defineUpdate<RemindOutcome, [RemindInput]>('remind');
export const changeDueUpdate = defineUpdate<DueOutcome, [ChangeDueInput]>('changeDue');
export const stateQuery = defineQuery<ApplicationState>('state');
/**
 * Brings a lean workflow in step with its case in Postgres (the reconciler sends it for a case Postgres shows closed
 * while its workflow still runs). Changes nothing in Postgres.
 */
export const syncUpdate = defineUpdate<Outcome, []>('sync');

/** Failure types thrown by the validators; the API maps them to HTTP statuses. */
export const Rejection = {
  WrongOrganisation: 'WrongOrganisation',
  StaleStage: 'StaleStage',
  CaseClosed: 'CaseClosed',
  CommentRequired: 'CommentRequired',
  NotSupported: 'NotSupported',
  NotReturned: 'NotReturned',
  AdminOnly: 'AdminOnly',
  /** A case started before time limits existed (or not in review): it has no timer to remind or extend. */
  NoDeadline: 'NoDeadline',
  /** Text that breaks the free-text rule (domain/text.ts); the failure's details name the field ({path}). */
  InvalidText: 'InvalidText',
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
