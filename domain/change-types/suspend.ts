import { addMonths, returnAfterEffective } from './dates';
import { schoolThenCounty, toStatus, type ChangeTypeSpec } from './spec';

/** 休学, until an expected return (at most the province's maxSuspendMonths after the effective date). */
export const suspend = {
  code: 'SUSPEND',
  label: '休学',
  applicant: 'pupilSchool',
  chain: schoolThenCounty,
  from: ['ENROLLED'],
  provinceRule(_pupil, request, rules) {
    const back = request.details.expectedReturnDate;
    return typeof back === 'string' && back > addMonths(request.effectiveDate, rules.maxSuspendMonths)
      ? `按本省规定，休学最长 ${rules.maxSuspendMonths} 个月，请调整预计复学日期`
      : null;
  },
  fields: [{ name: 'expectedReturnDate', label: '预计复学日期', kind: 'date', required: true }],
  checkDetails: returnAfterEffective,
  apply: toStatus('SUSPENDED'),
  changes: ['status'],
} as const satisfies ChangeTypeSpec<'SUSPEND'>;
