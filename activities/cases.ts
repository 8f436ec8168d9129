import type { Prisma } from '../generated/prisma/client';
import { findDirtyText } from '../domain/text';
import type { ApplicationStatus, ChangeType, Stage } from '../domain/types';
import { ApplicationMissingError, DirtyTextError } from './errors';

type Tx = Prisma.TransactionClient;

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

/**
 * Reads a case and locks its row for the rest of the transaction (one statement), so two runs of one activity — a
 * retry, a second worker — serialise, and the second finds the first's work done.
 */
export async function lockCase(tx: Tx, applicationId: number): Promise<LockedCase> {
  const [app] = await tx.$queryRaw<LockedCase[]>`
    select a.id, a.type::text as type, a.status::text as status, a.round, a."studentNo", s.name as "pupilName",
           a."toSchoolCode", a."applicantOrgCode", a."currentStage"::text as "currentStage", a."currentOrgCode",
           a."effectiveDate", a.reason, a.details, a.version,
           a."reversesId"
      from "Application" a join "Student" s on s."studentNo" = a."studentNo"
     where a.id = ${applicationId}
       for update of a`;
  if (!app) throw new ApplicationMissingError(applicationId);
  return app;
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
