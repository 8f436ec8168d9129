import { CHANGE_TYPE_LABELS, STUDENT_STATUS_LABELS } from './labels';
import type { ChangeType, StudentStatus } from './types';

export interface PupilState {
  status: StudentStatus;
  problemFlag: boolean;
  grade: number;
}

export type Legality = { legal: true } | { legal: false; reason: string };

/** Which statuses each change may start from, and the status it leads to. */
const TRANSITIONS: Record<ChangeType, { from: readonly StudentStatus[]; to: (s: StudentStatus) => StudentStatus }> = {
  TRANSFER: { from: ['ENROLLED'], to: () => 'ENROLLED' },
  SUSPEND: { from: ['ENROLLED'], to: () => 'SUSPENDED' },
  RESUME: { from: ['SUSPENDED'], to: () => 'ENROLLED' },
  REPEAT_GRADE: { from: ['ENROLLED'], to: () => 'ENROLLED' },
  SKIP_GRADE: { from: ['ENROLLED'], to: () => 'ENROLLED' },
  DROP_OUT: { from: ['ENROLLED', 'SUSPENDED'], to: () => 'DROPPED_OUT' },
  STUDY_ABROAD: { from: ['ENROLLED', 'SUSPENDED'], to: () => 'ABROAD' },
  DECEASED: { from: ['ENROLLED', 'SUSPENDED', 'DROPPED_OUT', 'ABROAD'], to: () => 'DECEASED' },
};

/** Whether a change may be filed for a pupil in this state; the reason is written for a clerk. */
export function checkChangeLegal(type: ChangeType, pupil: PupilState): Legality {
  const label = CHANGE_TYPE_LABELS[type];
  if (pupil.status === 'DECEASED') return { legal: false, reason: '该学生学籍已注销（死亡），不能再办理任何异动' };
  if (pupil.problemFlag) {
    return { legal: false, reason: `该学生为问题学籍，须先由原学校核实更正后才能办理${label}` };
  }
  const rule = TRANSITIONS[type];
  if (!rule.from.includes(pupil.status)) {
    const now = STUDENT_STATUS_LABELS[pupil.status];
    const need = rule.from.map((s) => STUDENT_STATUS_LABELS[s]).join('或');
    return { legal: false, reason: `该学生当前为"${now}"状态，只有"${need}"的学生才能办理${label}` };
  }
  if (type === 'REPEAT_GRADE' && pupil.grade <= 1) return { legal: false, reason: '一年级学生不能办理留级' };
  if (type === 'SKIP_GRADE' && pupil.grade >= MAX_GRADE) return { legal: false, reason: '已是最高年级，不能办理跳级' };
  return { legal: true };
}

/** Grades run from 1 (小学一年级) to 12 (高三). */
export const MAX_GRADE = 12;

/** The grade after an approved change: 留级 one down, 跳级 one up, others unchanged. */
export function gradeAfter(type: ChangeType, grade: number): number {
  if (type === 'REPEAT_GRADE') return Math.max(1, grade - 1);
  if (type === 'SKIP_GRADE') return Math.min(MAX_GRADE, grade + 1);
  return grade;
}

export function statusAfter(type: ChangeType, from: StudentStatus): StudentStatus {
  return TRANSITIONS[type].to(from);
}
