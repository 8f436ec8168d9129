import { MAX_GRADE, recordAfter, specOf, type PupilState } from './change-types';
import { STUDENT_STATUS_LABELS } from './labels';
import type { ChangeType, StudentStatus } from './types';

export type { PupilState } from './change-types';
export { MAX_GRADE };

export type Legality = { legal: true } | { legal: false; reason: string };

/**
 * Whether a change may be filed for a pupil in this state; the reason is written for a clerk. The statuses each type
 * starts from, and any further precondition, are the type's spec's (domain/change-types/).
 */
export function checkChangeLegal(type: ChangeType | string, pupil: PupilState): Legality {
  const spec = specOf(type);
  const label = spec.label;
  if (pupil.status === 'DECEASED') return { legal: false, reason: '该学生学籍已注销（死亡），不能再办理任何异动' };
  if (pupil.problemFlag) {
    return { legal: false, reason: `该学生为问题学籍，须先由原学校核实更正后才能办理${label}` };
  }
  if (!spec.from.includes(pupil.status)) {
    const now = STUDENT_STATUS_LABELS[pupil.status];
    const need = spec.from.map((s) => STUDENT_STATUS_LABELS[s]).join('或');
    return { legal: false, reason: `该学生当前为"${now}"状态，只有"${need}"的学生才能办理${label}` };
  }
  const reason = spec.precondition?.(pupil);
  return reason ? { legal: false, reason } : { legal: true };
}

/** The grade after an approved change (留级 one down, 跳级 one up, others unchanged). */
export function gradeAfter(type: ChangeType, grade: number): number {
  return recordAfter(type, { schoolCode: '-', status: 'ENROLLED', grade }, { toSchoolCode: '-' }).grade;
}

/** The status after an approved change. */
export function statusAfter(type: ChangeType, from: StudentStatus): StudentStatus {
  return recordAfter(type, { schoolCode: '-', status: from, grade: 1 }, { toSchoolCode: '-' }).status;
}
