import { CHANGE_TYPE_SPECS } from './change-types/registry';
import type { ApplicationStatus, ChangeType, Decision, Stage, StudentStatus } from './types';

// Chinese names as clerks know them from the national system (a change type's is its spec's).
export const CHANGE_TYPE_LABELS = Object.fromEntries(
  Object.values(CHANGE_TYPE_SPECS).map((s) => [s.code, s.label]),
) as Record<ChangeType, string>;

export const STATUS_LABELS: Record<ApplicationStatus, string> = {
  IN_REVIEW: '审核中',
  RETURNED: '已退回',
  APPROVED: '已通过',
  REJECTED: '未通过',
  WITHDRAWN: '已撤销',
  CANCELLED: '已取消',
};

export const STAGE_LABELS: Record<Stage, string> = {
  RECEIVING_SCHOOL: '转入学校审核',
  RECEIVING_COUNTY: '转入县教育局审核',
  SENDING_SCHOOL: '转出学校审核',
  SENDING_COUNTY: '转出县教育局审核',
  SCHOOL: '学校审核',
  COUNTY: '县教育局审核',
  RECEIVING_CITY: '转入地市教育局审核',
  RECEIVING_PROVINCE: '转入省教育厅审核',
  SENDING_CITY: '转出地市教育局审核',
  SENDING_PROVINCE: '转出省教育厅审核',
};

export const DECISION_LABELS: Record<Decision, string> = {
  APPROVE: '同意',
  REJECT: '不同意',
  RETURN: '退回',
};

export const STUDENT_STATUS_LABELS: Record<StudentStatus, string> = {
  ENROLLED: '在籍',
  SUSPENDED: '休学',
  DROPPED_OUT: '辍学',
  ABROAD: '出境',
  DECEASED: '死亡',
};
