// Chinese names of the API's codes: the domain's own (shared with the API and the mails), plus roles and kinds.
import { STAGE_LABELS } from '../../../domain/labels';
import type { OrgKind, Stage } from '../../../domain/types';

export {
  CHANGE_TYPE_LABELS,
  DECISION_LABELS,
  STAGE_LABELS,
  STATUS_LABELS,
  STUDENT_STATUS_LABELS,
} from '../../../domain/labels';
export { CHANGE_TYPES } from '../../../domain/types';
// What the console needs of a change type (who files it, its wording, its fields) is the type's spec's.
export { movesPupil, specOf, wordingOf } from '../../../domain/change-types';
export type { ApplicationStatus, ChangeType, Decision, OrgKind, Role, Stage } from '../../../domain/types';

export const ROLE_LABELS = {
  SCHOOL_CLERK: '学校学籍管理员',
  COUNTY_OFFICER: '教育局人员（区县、地市、省）',
  ADMIN: '系统管理员',
} as const;

export const ORG_KIND_LABELS: Record<OrgKind, string> = {
  SCHOOL: '学校',
  COUNTY: '区县教育局',
  CITY: '地市教育局',
  PROVINCE: '省教育厅',
};

/**
 * The kind of the signed-in user's organisation: the session's (orgKind), or — a session kept from before the API
 * sent it — the length of its code (GB/T 2260: a 省 2 digits, a 地市 4, a 区县 6; a school 10). Null for an admin.
 */
export function orgKindOf(user: { orgKind?: OrgKind | null; orgCode: string | null } | null): OrgKind | null {
  if (!user?.orgCode) return null;
  if (user.orgKind) return user.orgKind;
  return ({ 2: 'PROVINCE', 4: 'CITY', 6: 'COUNTY' } as const)[user.orgCode.length as 2 | 4 | 6] ?? 'SCHOOL';
}

/** “本校”, “本县”, “本市”, “本省”: the area a user's organisation answers for; “全部” for an admin. */
export function areaWord(user: { orgKind?: OrgKind | null; orgCode: string | null } | null): string {
  const kind = orgKindOf(user);
  return kind ? { SCHOOL: '本校', COUNTY: '本县', CITY: '本市', PROVINCE: '本省' }[kind] : '全部';
}
export const GENDER_LABELS = { MALE: '男', FEMALE: '女' } as const;

const dateTime = new Intl.DateTimeFormat('zh-CN', {
  timeZone: 'Asia/Shanghai',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  hour12: false,
});
/** 2026/11/22 14:05, China time, whatever the browser's zone. */
export const formatTime = (iso: string | null | undefined) => (iso ? dateTime.format(new Date(iso)) : '—');

/**
 * 2026-12-02: the day in China time (UTC+8 all year, no summer time), as the printed papers and the decisions' dates
 * give it; an ISO string's first ten characters are the UTC day, a day early before 08:00 in China.
 */
export const formatDay = (iso: string | null | undefined) =>
  iso ? new Date(Date.parse(iso) + 8 * 3_600_000).toISOString().slice(0, 10) : '—';

/** 3 天 4 小时 / 5 小时 / 20 分钟 / 不足 1 分钟. */
export function formatHours(hours: number | null | undefined): string {
  if (hours === null || hours === undefined) return '—';
  if (hours * 60 < 1) return '不足 1 分钟';
  if (hours < 1) return `${Math.round(hours * 60)} 分钟`;
  if (hours < 48) return `${Math.round(hours * 10) / 10} 小时`;
  const days = Math.floor(hours / 24);
  return `${days} 天 ${Math.round(hours - days * 24)} 小时`;
}

export const hoursSince = (iso: string | null | undefined) => (iso ? (Date.now() - Date.parse(iso)) / 3_600_000 : null);

/**
 * A stage's name. The generated types let every stage be null (the API document marks its shared Stage
 * component nullable because some fields are), so this takes null too.
 */
export const stageLabel = (s: Stage | null | undefined) => (s ? STAGE_LABELS[s] : '—');
