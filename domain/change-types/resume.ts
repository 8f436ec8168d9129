import { schoolThenCounty, toStatus, type ChangeTypeSpec } from './spec';

/** 复学 after a suspension. */
export const resume = {
  code: 'RESUME',
  label: '复学',
  applicant: 'pupilSchool',
  chain: schoolThenCounty,
  from: ['SUSPENDED'],
  fields: [],
  apply: toStatus('ENROLLED'),
  changes: ['status'],
} as const satisfies ChangeTypeSpec<'RESUME'>;
