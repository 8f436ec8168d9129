// DESIGN §5 "Reach": which organisations may see a pupil's identity (the full 学籍号, the ID number's birth date and
// sequence). Pure, so the rule is one function the API asks for every pupil it shows; api/services/reach.ts loads the
// facts it needs.

import {
  maskIdNumber,
  maskIdNumberToRegion,
  maskStudentNo,
  maskStudentNoToRegion,
  replaceIdNumbers,
} from './id-number';
import { movesPupil } from './change-types';
import { isOpenStatus, type ApplicationStatus, type Role } from './types';

/** How long the sending school and its bureau still reach a pupil after an approved transfer. */
export const TRANSFER_AFTERCARE_DAYS = 30;
const DAY_MS = 86_400_000;

export interface ReachCaller {
  role: Role;
  orgCode: string | null;
}

/** Where the pupil is now. */
export interface PupilPlace {
  schoolCode: string;
  /** The county bureau of the pupil's school. */
  countyCode: string | null;
  /** The bureaus above that county: its 地市's and its province's, where the tree has them. */
  higherCodes?: readonly string[];
}

/** What the rule needs of one case about the pupil. */
export interface CaseFacts {
  /** The change type's code (as stored). */
  type: string;
  status: ApplicationStatus;
  applicantOrgCode: string;
  /** Organisations whose stage of the case has been reached (any round). */
  reachedOrgCodes: readonly string[];
  fromSchoolCode: string;
  fromCountyCode: string | null;
  /** The bureaus above the sending school's county (地市, 省), where the tree has them. */
  fromHigherCodes?: readonly string[];
  /** When the case ended (for an approved transfer: when the pupil moved). */
  closedAt: Date | null;
}

/**
 * Is the pupil within the caller's reach? Administrators reach everyone. Others: the pupil's current school and the
 * bureaus above it (county, and 地市 and 省 where the tree has them); a party to an open case about the pupil — its applicant, or an organisation whose stage was
 * reached (a withdrawn, rejected or cancelled case no longer counts); and for TRANSFER_AFTERCARE_DAYS after an
 * approved transfer, the sending school and its bureaus.
 */
export function withinReach(caller: ReachCaller, pupil: PupilPlace, cases: readonly CaseFacts[], now: Date): boolean {
  if (caller.role === 'ADMIN') return true;
  const org = caller.orgCode;
  if (!org) return false;
  if (pupil.schoolCode === org || pupil.countyCode === org || pupil.higherCodes?.includes(org)) return true;
  return cases.some((c) => {
    if (isOpenStatus(c.status)) return c.applicantOrgCode === org || c.reachedOrgCodes.includes(org);
    return (
      movesPupil(c.type) &&
      c.status === 'APPROVED' &&
      c.closedAt !== null &&
      now.getTime() - c.closedAt.getTime() <= TRANSFER_AFTERCARE_DAYS * DAY_MS &&
      (c.fromSchoolCode === org || c.fromCountyCode === org || c.fromHigherCodes?.includes(org) === true)
    );
  });
}

/**
 * A 学籍号 as the caller may see it. Within reach: whole in a single record, masked to region + last four in a list
 * (as every list always did). Outside reach: region only, in every view.
 */
export function studentNoAsSeen(studentNo: string, within: boolean, view: 'detail' | 'list'): string {
  if (!within) return maskStudentNoToRegion(studentNo);
  return view === 'detail' ? studentNo : maskStudentNo(studentNo);
}

/** An ID number as the caller may see it: region + last four within reach, region only outside. */
export function idNumberAsSeen(idNumber: string | null, within: boolean): string | null {
  return within ? maskIdNumber(idNumber) : maskIdNumberToRegion(idNumber);
}

/**
 * Free text as a caller outside reach may see it: any ID number a clerk typed into a reason or comment, masked to its
 * region (within reach it is shown as written).
 */
export function textAsSeen<T extends string | null>(text: T, within: boolean): T {
  return within || text === null ? text : (replaceIdNumbers(text, (id) => maskIdNumberToRegion(id)!) as T);
}
