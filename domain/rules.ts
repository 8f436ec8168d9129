import { CHANGE_TYPE_LABELS } from './labels';
import type { Legality, PupilState } from './status-machine';
import type { ChangeType } from './types';

/**
 * Conditions that provinces add to the national rules (《中小学生学籍管理办法》 art. 11 leaves them to the
 * provinces). They are settings (settings/province-rules.json, or RULES_FILE), not code.
 */
export interface ProvinceRules {
  /** Grades in which a transfer is refused, e.g. [6, 9, 12] for the graduating years. */
  noTransferGrades: number[];
  /** Grades in which repeating a grade is refused (e.g. compulsory education in Hunan). */
  noRepeatGrades: number[];
  /** Longest suspension, in months from the effective date to the expected return. */
  maxSuspendMonths: number;
}

export const DEFAULT_RULES: ProvinceRules = { noTransferGrades: [], noRepeatGrades: [], maxSuspendMonths: 24 };

function addMonths(isoDate: string, months: number): string {
  const d = new Date(`${isoDate}T00:00:00Z`);
  d.setUTCMonth(d.getUTCMonth() + months);
  return d.toISOString().slice(0, 10);
}

export function checkProvinceRules(
  type: ChangeType,
  pupil: PupilState,
  request: { effectiveDate: string; details?: Record<string, unknown> | null },
  rules: ProvinceRules,
): Legality {
  const label = CHANGE_TYPE_LABELS[type];
  if (type === 'TRANSFER' && rules.noTransferGrades.includes(pupil.grade)) {
    return { legal: false, reason: `按本省规定，${pupil.grade} 年级（毕业年级）学生不能办理${label}` };
  }
  if (type === 'REPEAT_GRADE' && rules.noRepeatGrades.includes(pupil.grade)) {
    return { legal: false, reason: `按本省规定，${pupil.grade} 年级学生不能办理${label}` };
  }
  if (type === 'SUSPEND') {
    const back = request.details?.expectedReturnDate;
    if (typeof back === 'string' && back > addMonths(request.effectiveDate, rules.maxSuspendMonths)) {
      return { legal: false, reason: `按本省规定，休学最长 ${rules.maxSuspendMonths} 个月，请调整预计复学日期` };
    }
  }
  return { legal: true };
}
