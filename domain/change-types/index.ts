import { CHANGE_TYPE_SPECS } from './registry';
import type { ChainStep, ChangeTypeSpec, DetailsContext, DetailsIssue, Parties, PupilRecord } from './spec';

export type {
  ChainStep,
  ChangeTypeSpec,
  DetailField,
  DetailsIssue,
  LevelOrg,
  Parties,
  PupilRecord,
  PupilState,
} from './spec';
export { MAX_GRADE } from './spec';

/** The API's codes of the change types. */
export type ChangeType = keyof typeof CHANGE_TYPE_SPECS;

/** Every change type's code, in the registry's order. */
export const CHANGE_TYPES = Object.keys(CHANGE_TYPE_SPECS) as [ChangeType, ...ChangeType[]];

export const isChangeType = (code: string): code is ChangeType => Object.hasOwn(CHANGE_TYPE_SPECS, code);

/**
 * A stored code (Application.type and StudentHistory.type are text) as a ChangeType. Throws for a code the registry
 * does not know (a row written by a newer version, say).
 */
export function asChangeType(code: string): ChangeType {
  if (!isChangeType(code)) throw new Error(`unknown change type ${JSON.stringify(code)}`);
  return code;
}

/** A type's spec. Throws for a code the registry does not know (a row written by a newer version, say). */
export function specOf(type: string): ChangeTypeSpec {
  if (!isChangeType(type)) throw new Error(`unknown change type ${JSON.stringify(type)}`);
  return CHANGE_TYPE_SPECS[type];
}

/** A type changes the pupil's school (转学): the sending school keeps sight of the pupil for a while. */
export const movesPupil = (type: string): boolean => specOf(type).changes.includes('schoolCode');

/** The types that move the pupil, for queries. */
export const MOVING_TYPES: ChangeType[] = CHANGE_TYPES.filter(movesPupil);

/** The chain of a new case. */
export function buildChain(type: string, parties: Parties): ChainStep[] {
  return specOf(type).chain(parties);
}

/** The record after an approved change. */
export function recordAfter(
  type: string,
  record: PupilRecord,
  app: { toSchoolCode: string | null; details?: unknown } = { toSchoolCode: null },
): PupilRecord {
  return specOf(type).apply(record, { toSchoolCode: app.toSchoolCode, details: app.details ?? null });
}

/** A history line's before and after values (StudentHistory). */
export interface HistoryValues {
  fromSchoolCode: string | null;
  toSchoolCode: string | null;
  fromStatus: PupilRecord['status'];
  toStatus: PupilRecord['status'];
  fromGrade: number | null;
  toGrade: number | null;
}

/**
 * What reversing an approved change (纠错) writes back: exactly the fields the type's approval changes (its spec's
 * `changes`), each to the value the history line recorded before the change. Fields the type does not change are left
 * as they are now, even if something else changed them since.
 */
export function reversalPatch(type: string, line: HistoryValues): Partial<PupilRecord> {
  const before: { [K in keyof PupilRecord]: PupilRecord[K] | null } = {
    schoolCode: line.fromSchoolCode,
    status: line.fromStatus,
    grade: line.fromGrade,
  };
  const patch: Partial<PupilRecord> = {};
  for (const field of specOf(type).changes) {
    const value = before[field];
    if (value === null) throw new Error(`the history line has no earlier ${field}`);
    Object.assign(patch, { [field]: value });
  }
  return patch;
}

/** The type's own checks of well-formed details. */
export function detailsIssues(
  type: string,
  details: Record<string, string | undefined>,
  ctx: DetailsContext,
): DetailsIssue[] {
  return specOf(type).checkDetails?.(details, ctx) ?? [];
}

/** A spec's wording, with the common defaults. */
export function wordingOf(type: string) {
  const w = specOf(type).wording;
  return {
    fromSchool: w?.fromSchool ?? '学校',
    schoolPicker: w?.schoolPicker ?? '学校',
    filingHint: w?.filingHint ?? null,
    proofHint: w?.proofHint ?? null,
  };
}
