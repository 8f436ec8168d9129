import type { ReviewLevel } from '../review-levels';
import type { ProvinceRules } from '../rules';
import type { SchoolRef, Stage, StudentStatus } from '../types';

/** One stage of a chain and the organisation that decides it. */
export interface ChainStep {
  stage: Stage;
  orgCode: string;
}

/** The part of a pupil's record (学籍) an approved change may rewrite; StudentHistory keeps each field's before/after. */
export interface PupilRecord {
  schoolCode: string;
  status: StudentStatus;
  grade: number;
}

/** A pupil as the filing checks see it. */
export interface PupilState {
  status: StudentStatus;
  problemFlag: boolean;
  grade: number;
}

/** The organisations a case is about: the pupil's school now, and (for a type the receiving school files) the caller's. */
export interface Parties {
  pupilSchool: SchoolRef;
  /** The receiving school: set exactly when the type's `applicant` is 'receivingSchool'. */
  receivingSchool: SchoolRef | null;
  /**
   * The bureaus above the county that review on each side, in order (settings/review-levels.json, resolved to
   * organisations when the case is filed); absent or empty: none.
   */
  levels?: { receiving: readonly LevelOrg[]; sending: readonly LevelOrg[] };
}

/** A review level above the county and the bureau that holds it. */
export interface LevelOrg {
  level: ReviewLevel;
  orgCode: string;
}

/**
 * One field of a type's `details` (beyond reason and date). The API builds its zod schema from these (api/schemas),
 * the console its form (web/src/components/DetailsFields.tsx): the one description of the field for both, and no zod
 * in the console's bundle.
 */
export interface DetailField {
  name: string;
  /** The field's name as the clerk reads it (form label, messages). */
  label: string;
  kind: 'date' | 'text';
  required: boolean;
  /** Longest text, in characters (kind 'text'; default 50). */
  max?: number;
}

/** A problem with one details field, for problem+json `errors[].path` = `details.<field>`. */
export interface DetailsIssue {
  field: string;
  message: string;
}

/**
 * Everything that makes a change type what it is. Each type is one file in this folder, registered in registry.ts;
 * the rest of the system asks the spec (specOf(type)) and never compares a type to a literal.
 */
export interface ChangeTypeSpec<Code extends string = string> {
  /** The API's code, stored in Application.type and StudentHistory.type (text columns, see README). */
  code: Code;
  /** The Chinese name clerks know from the national system (转学, 休学 …). */
  label: string;
  /** Wording of the console and the printed form that differs by type (zh-CN); absent: the common wording. */
  wording?: {
    /** The pupil's school as the case page and the 审批表 name it (default 学校). */
    fromSchool?: string;
    /** The school picker's label on the filing form (default 学校). */
    schoolPicker?: string;
    /** A hint under the type on the filing form. */
    filingHint?: string;
    /** A hint under the proof upload. */
    proofHint?: string;
  };
  /**
   * Who files the case: the pupil's own school ('pupilSchool': the pupil must be within the clerk's reach), or the
   * school that receives the pupil ('receivingSchool': a pupil of any other school; the caller's school receives).
   */
  applicant: 'pupilSchool' | 'receivingSchool';
  /** The approval chain, fixed when the case is filed (a resubmission runs it again). */
  chain(parties: Parties): ChainStep[];
  /** The statuses the pupil may be in when the case is filed. */
  from: readonly StudentStatus[];
  /** A further national precondition; the reason is written for a clerk. */
  precondition?(pupil: PupilState): string | null;
  /** The province's conditions (settings/province-rules.json) that apply to this type. */
  provinceRule?(
    pupil: PupilState,
    request: { effectiveDate: string; details: Record<string, unknown> },
    rules: ProvinceRules,
  ): string | null;
  /** The type's own fields in `details`. */
  fields: readonly DetailField[];
  /** Checks between the fields (and against the effective date and today), once each field is well-formed. */
  checkDetails?(details: Record<string, string | undefined>, ctx: DetailsContext): DetailsIssue[];
  /** The record after approval (from the record before it and the case). */
  apply(record: PupilRecord, app: { toSchoolCode: string | null; details: unknown }): PupilRecord;
  /**
   * The fields `apply` may rewrite: a reversal (纠错 of an approved change, api/services/reversal.ts) restores exactly these from
   * the history line's before-values. A type that rewrites schoolCode moves the pupil (visible to the sending school
   * for a while afterwards; the 转学联系函 can be printed).
   */
  changes: readonly (keyof PupilRecord)[];
}

export interface DetailsContext {
  effectiveDate?: string;
  /** Today in China, YYYY-MM-DD. */
  today: string;
}

/** Grades run from 1 (小学一年级) to 12 (高三). */
export const MAX_GRADE = 12;

/** The pupil's school, then its county bureau: the chain of every change but a transfer. */
export function schoolThenCounty({ pupilSchool }: Parties): ChainStep[] {
  return [
    { stage: 'SCHOOL', orgCode: pupilSchool.code },
    { stage: 'COUNTY', orgCode: pupilSchool.countyCode },
  ];
}

/** A record with only its status changed. */
export const toStatus =
  (status: StudentStatus) =>
  (record: PupilRecord): PupilRecord => ({ ...record, status });
