import { schoolThenCounty, toStatus, type ChangeTypeSpec } from './spec';

/** 死亡: closes the record (nothing more can be filed for the pupil, see status-machine.ts). */
export const deceased = {
  code: 'DECEASED',
  label: '死亡',
  applicant: 'pupilSchool',
  chain: schoolThenCounty,
  from: ['ENROLLED', 'SUSPENDED', 'DROPPED_OUT', 'ABROAD'],
  fields: [{ name: 'deathDate', label: '死亡日期', kind: 'date', required: true }],
  checkDetails: (d, ctx) =>
    d.deathDate && d.deathDate > ctx.today ? [{ field: 'deathDate', message: '死亡日期不能晚于今天' }] : [],
  apply: toStatus('DECEASED'),
  changes: ['status'],
} as const satisfies ChangeTypeSpec<'DECEASED'>;
