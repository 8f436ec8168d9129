import { schoolThenCounty, toStatus, type ChangeTypeSpec } from './spec';

/** 辍学, with the last day the pupil came to school if known. */
export const dropOut = {
  code: 'DROP_OUT',
  label: '辍学',
  applicant: 'pupilSchool',
  chain: schoolThenCounty,
  from: ['ENROLLED', 'SUSPENDED'],
  fields: [{ name: 'lastAttendanceDate', label: '最后到校日期', kind: 'date', required: false }],
  checkDetails: (d, ctx) =>
    d.lastAttendanceDate && ctx.effectiveDate && d.lastAttendanceDate > ctx.effectiveDate
      ? [{ field: 'lastAttendanceDate', message: '最后到校日期不能晚于异动日期' }]
      : [],
  apply: toStatus('DROPPED_OUT'),
  changes: ['status'],
} as const satisfies ChangeTypeSpec<'DROP_OUT'>;
