import { findDirtyText } from '../domain/text';
import type { ApplicationStatus, ChangeType, Decision, Stage } from '../domain/types';
import type { PgTransaction } from '../infra/sql';
import { ApplicationMissingError, DirtyTextError } from './errors';

export type Tx = PgTransaction;

/** One step of a case, with its organisation's kind and parent (escalation goes up to it). */
export interface LockedStep {
  id: number;
  seq: number;
  stage: Stage;
  orgCode: string;
  orgKind: 'COUNTY' | 'SCHOOL' | 'CITY' | 'PROVINCE';
  orgParentCode: string | null;
  openedAt: Date | null;
  dueAt: Date | null;
  dueProvisional: boolean;
  overdueAt: Date | null;
  remindersSent: number;
  lastRemindedAt: Date | null;
  escalatedAt: Date | null;
  escalatedTo: string | null;
  decision: Decision | null;
}

/** A case as the writing activities need it, with its pupil's name (for mail). */
export interface LockedCase {
  id: number;
  type: ChangeType;
  status: ApplicationStatus;
  round: number;
  studentNo: string;
  pupilName: string;
  toSchoolCode: string | null;
  applicantOrgCode: string;
  currentStage: Stage | null;
  currentOrgCode: string | null;
  effectiveDate: Date;
  reason: string;
  details: unknown;
  version: number;
  /** 纠错: the approved case this one reverses, or null. */
  reversesId: number | null;
}

/** What lockCase reads besides the case: the steps of one round, and the working calendar's version. */
export interface LockedCaseWith extends LockedCase {
  /** The steps of round `stepsRound` (the one asked for, the case's own by default), in chain order. */
  steps: LockedStep[];
  stepsRound: number;
  /** Changes when an administrator loads a calendar year (see calendarIn in activities/index.ts). */
  calendarVersion: string;
}

type StepJson = Omit<LockedStep, 'openedAt' | 'dueAt' | 'overdueAt' | 'lastRemindedAt' | 'escalatedAt'> &
  Record<'openedAt' | 'dueAt' | 'overdueAt' | 'lastRemindedAt' | 'escalatedAt', number | null>;
const at = (ms: number | null) => (ms === null ? null : new Date(Math.round(ms)));

/**
 * Locks a case's row for the rest of the transaction and reads it, its steps of `round` (default: the case's round)
 * and the calendar's version, in one statement (the server-side function xueji_lock_case, see its migration: the
 * lock is taken first and the rest read after it), so two runs of one activity — a retry, a second worker —
 * serialise, and the second finds the first's work done.
 */
export async function lockCase(tx: Tx, applicationId: number, round: number | null = null): Promise<LockedCaseWith> {
  const [row] = await tx.$queryRaw<(Omit<LockedCaseWith, 'steps' | 'stepsRound'> & { steps: StepJson[] })[]>`
    select * from xueji_lock_case(${applicationId}::int, ${round}::int)`;
  if (!row) throw new ApplicationMissingError(applicationId);
  return {
    ...row,
    stepsRound: round ?? row.round,
    steps: row.steps.map((s) => ({
      ...s,
      openedAt: at(s.openedAt),
      dueAt: at(s.dueAt),
      overdueAt: at(s.overdueAt),
      lastRemindedAt: at(s.lastRemindedAt),
      escalatedAt: at(s.escalatedAt),
    })),
  };
}

/**
 * Refuses to act on a case whose stored text breaks the free-text rule (the pupil's name goes into mail, the reason
 * and details into papers and the audit trail): see DirtyTextError.
 */
export function assertCleanCase(app: Pick<LockedCase, 'pupilName' | 'reason' | 'details'>): void {
  const hit = findDirtyText({ 'student.name': app.pupilName, reason: app.reason, details: app.details ?? null });
  if (hit) throw new DirtyTextError(hit.path.join('.'), hit.message);
}

/** Counts one more write of the case (see Application.version) and answers the new count. */
export async function bumpVersion(tx: Tx, applicationId: number): Promise<number> {
  const [row] = await tx.$queryRaw<{ version: number }[]>`
    update "Application" set version = version + 1 where id = ${applicationId} returning version`;
  return row.version;
}
