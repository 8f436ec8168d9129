import { returnAfterEffective } from './dates';
import { schoolThenCounty, toStatus, type ChangeTypeSpec } from './spec';

/** 出境学习: where to, and when the pupil is expected back if known. */
export const studyAbroad = {
  code: 'STUDY_ABROAD',
  label: '出境学习',
  applicant: 'pupilSchool',
  chain: schoolThenCounty,
  from: ['ENROLLED', 'SUSPENDED'],
  fields: [
    { name: 'destination', label: '前往国家或地区', kind: 'text', required: true, max: 50 },
    { name: 'expectedReturnDate', label: '预计回国日期', kind: 'date', required: false },
  ],
  checkDetails: returnAfterEffective,
  apply: toStatus('ABROAD'),
  changes: ['status'],
} as const satisfies ChangeTypeSpec<'STUDY_ABROAD'>;
