import { specOf } from './change-types';
import type { Legality, PupilState } from './status-machine';
import type { ChangeType } from './types';

/**
 * Conditions that provinces add to the national rules (《中小学生学籍管理办法》 art. 11 leaves them to the
 * provinces). They are settings (settings/province-rules.json, or RULES_FILE), not code; which of them applies to
 * which change type is the type's spec's `provinceRule`.
 */
export interface ProvinceRules {
  /** Grades in which a transfer is refused, e.g. [6, 9, 12] for the graduating years. */
  noTransferGrades: number[];
  /** Grades in which repeating a grade is refused (e.g. compulsory education in Hunan). */
  noRepeatGrades: number[];
  /** Longest suspension, in months from the effective date to the expected return. */
  maxSuspendMonths: number;
  /**
   * 纠错: how long after its approval the pupil's most recent change may still be reversed — this many days counted
   * from the China calendar day of the approval (that day not counted), in calendar days or working days.
   */
  reversalWindow: { days: number; unit: 'calendar' | 'working' };
}

export const DEFAULT_RULES: ProvinceRules = {
  noTransferGrades: [],
  noRepeatGrades: [],
  maxSuspendMonths: 24,
  reversalWindow: { days: 30, unit: 'calendar' },
};

export function checkProvinceRules(
  type: ChangeType | string,
  pupil: PupilState,
  request: { effectiveDate: string; details?: Record<string, unknown> | null },
  rules: ProvinceRules,
): Legality {
  const reason = specOf(type).provinceRule?.(
    pupil,
    { effectiveDate: request.effectiveDate, details: request.details ?? {} },
    rules,
  );
  return reason ? { legal: false, reason } : { legal: true };
}
