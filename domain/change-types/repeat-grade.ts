import { schoolThenCounty, type ChangeTypeSpec } from './spec';

/** 留级: one grade lower (not from grade 1, nor in the province's noRepeatGrades). */
export const repeatGrade = {
  code: 'REPEAT_GRADE',
  label: '留级',
  applicant: 'pupilSchool',
  chain: schoolThenCounty,
  from: ['ENROLLED'],
  precondition: (pupil) => (pupil.grade <= 1 ? '一年级学生不能办理留级' : null),
  provinceRule: (pupil, _request, rules) =>
    rules.noRepeatGrades.includes(pupil.grade) ? `按本省规定，${pupil.grade} 年级学生不能办理留级` : null,
  fields: [],
  apply: (record) => ({ ...record, grade: Math.max(1, record.grade - 1) }),
  changes: ['grade'],
} as const satisfies ChangeTypeSpec<'REPEAT_GRADE'>;
