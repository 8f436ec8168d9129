import { MAX_GRADE, schoolThenCounty, type ChangeTypeSpec } from './spec';

/** 跳级: one grade higher (not from the last grade). */
export const skipGrade = {
  code: 'SKIP_GRADE',
  label: '跳级',
  applicant: 'pupilSchool',
  chain: schoolThenCounty,
  from: ['ENROLLED'],
  precondition: (pupil) => (pupil.grade >= MAX_GRADE ? '已是最高年级，不能办理跳级' : null),
  fields: [],
  apply: (record) => ({ ...record, grade: Math.min(MAX_GRADE, record.grade + 1) }),
  changes: ['grade'],
} as const satisfies ChangeTypeSpec<'SKIP_GRADE'>;
