// The system's mails, in Chinese, as plain text and HTML. Pure functions: the caller looks up names and addresses.
// A pupil appears by name only: never an ID number or 学籍号, which mail (forwarded, archived, misaddressed) would
// leak. The pupil parameter takes any object with a name, so callers may pass a whole Student row; free text (a
// reviewer's comment) is scrubbed of anything shaped like an ID number as well.

import type { ApplicationStatus, ChangeType, Decision, Stage } from '../domain/types';
import { CHANGE_TYPE_LABELS, DECISION_LABELS, STAGE_LABELS, STATUS_LABELS } from '../domain/labels';

export const MAIL_KINDS = ['task', 'decision', 'finished', 'reminder', 'escalation'] as const;
export type MailKind = (typeof MAIL_KINDS)[number];

export interface MailContent {
  subject: string;
  text: string;
  html: string;
}

/** The outbox key of one mail: case, round, stage and kind, plus n when one stage sends several of a kind. */
export function mailKey(k: { applicationId: number; round: number; stage: Stage | 'END'; kind: MailKind; n?: number }) {
  return `app:${k.applicationId}:r${k.round}:${k.stage}:${k.kind}${k.n === undefined ? '' : `:${k.n}`}`;
}

export interface CaseSummary {
  id: number;
  type: ChangeType;
  /** Only the name is read. */
  pupil: { name: string };
  /** 纠错: the case this one reverses. */
  reverses?: number;
  /** Where the case opens in the web client; without it the mail tells the reader to log in. */
  link?: string;
}

const TIME_ZONE = 'Asia/Shanghai';
const DATE_TIME = new Intl.DateTimeFormat('zh-CN', {
  timeZone: TIME_ZONE,
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
});

/** 2026/12/01 18:00 (Beijing time). */
export const formatDateTime = (d: Date) => DATE_TIME.format(d);

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);

// 18-character ID numbers (17 digits and a digit or X), with or without the 学籍号's 'G', and 15-digit old ones.
const ID_LIKE = /[GL]?\d{17}[\dXx]|\d{15}/g;
/** Masks anything that looks like an ID number or 学籍号 in free text. */
export const scrubIdNumbers = (s: string) =>
  s.replace(ID_LIKE, (m) => `${m.slice(0, m.length - 12)}********${m.slice(-4)}`);

const caseTitle = (c: CaseSummary) =>
  c.reverses
    ? `纠错申请（撤销第 ${c.reverses} 号${CHANGE_TYPE_LABELS[c.type]}，第 ${c.id} 号，学生 ${c.pupil.name}）`
    : `${CHANGE_TYPE_LABELS[c.type]}申请（第 ${c.id} 号，学生 ${c.pupil.name}）`;

/** Label/value rows shared by the text and HTML forms; values are plain text and escaped for HTML. */
type Row = [label: string, value: string];

function render(subject: string, intro: string, rows: Row[], c: CaseSummary, closing?: string): MailContent {
  const scrub = (s: string) => scrubIdNumbers(s);
  subject = scrub(subject);
  intro = scrub(intro);
  rows = rows.map(([l, v]) => [l, scrub(v)]);
  const link = c.link ? scrub(c.link) : null;
  const action = link ? `查看办理：${link}` : '请登录学籍异动系统查看办理。';
  const text = [
    intro,
    '',
    ...rows.map(([l, v]) => `${l}：${v}`),
    '',
    ...(closing ? [scrub(closing), ''] : []),
    action,
    '',
    '—— 学籍异动系统（系统邮件，请勿直接回复）',
    '',
  ].join('\n');
  const htmlRows = rows
    .map(([l, v]) => `<tr><th align="left">${escapeHtml(l)}</th><td>${escapeHtml(v).replace(/\n/g, '<br>')}</td></tr>`)
    .join('\n');
  const htmlAction = link ? `<p><a href="${escapeHtml(link)}">查看办理</a></p>` : '<p>请登录学籍异动系统查看办理。</p>';
  const html = [
    '<!doctype html>',
    '<html lang="zh-CN"><head><meta charset="utf-8"><title>' + escapeHtml(subject) + '</title></head><body>',
    `<p>${escapeHtml(intro)}</p>`,
    `<table cellpadding="4">\n${htmlRows}\n</table>`,
    ...(closing ? [`<p>${escapeHtml(scrub(closing))}</p>`] : []),
    htmlAction,
    '<p style="color:#888">—— 学籍异动系统（系统邮件，请勿直接回复）</p>',
    '</body></html>',
    '',
  ].join('\n');
  return { subject, text, html };
}

const caseRows = (c: CaseSummary): Row[] => [
  ['业务编号', String(c.id)],
  ['异动类型', CHANGE_TYPE_LABELS[c.type]],
  ['学生姓名', c.pupil.name],
];

/** 待办提醒: the case has reached the recipient organisation's stage. */
export function taskMail(p: { case: CaseSummary; stage: Stage; orgName?: string; dueAt?: Date | null }): MailContent {
  const rows = [...caseRows(p.case), ['审核环节', STAGE_LABELS[p.stage]] as Row];
  if (p.orgName) rows.push(['办理单位', p.orgName]);
  if (p.dueAt) rows.push(['办理期限', formatDateTime(p.dueAt)]);
  return render(
    `【待办提醒】${caseTitle(p.case)}待${STAGE_LABELS[p.stage]}`,
    `${p.orgName ? `${p.orgName}：` : ''}有一件${CHANGE_TYPE_LABELS[p.case.type]}申请已到达贵单位，等待${STAGE_LABELS[p.stage]}。`,
    rows,
    p.case,
    p.dueAt ? `请在 ${formatDateTime(p.dueAt)} 前办理。` : undefined,
  );
}

/** 审核结果: a stage decided; sent to the applicant organisation. */
export function decisionMail(p: {
  case: CaseSummary;
  stage: Stage;
  decision: Decision;
  orgName: string;
  comment?: string | null;
  /** The stage that now holds the case, if any. */
  nextStage?: Stage | null;
}): MailContent {
  const label = DECISION_LABELS[p.decision];
  const rows = [
    ...caseRows(p.case),
    ['审核环节', STAGE_LABELS[p.stage]] as Row,
    ['审核单位', p.orgName] as Row,
    ['审核意见', label] as Row,
  ];
  if (p.comment) rows.push(['说明', p.comment]);
  if (p.nextStage) rows.push(['下一环节', STAGE_LABELS[p.nextStage]]);
  const closing =
    p.decision === 'RETURN' ? '申请已退回，请按说明补正后重新提交。' : p.nextStage ? '申请已进入下一环节。' : undefined;
  return render(
    `【审核结果】${caseTitle(p.case)}${STAGE_LABELS[p.stage]}：${label}`,
    `${p.orgName}已对贵单位提交的${CHANGE_TYPE_LABELS[p.case.type]}申请作出审核：${label}。`,
    rows,
    p.case,
    closing,
  );
}

/** 办结通知: the case is closed (approved, rejected, withdrawn or cancelled). */
export function finishedMail(p: {
  case: CaseSummary;
  status: Exclude<ApplicationStatus, 'IN_REVIEW' | 'RETURNED'>;
  reason?: string | null;
}): MailContent {
  const label = STATUS_LABELS[p.status];
  const rows = [...caseRows(p.case), ['办理结果', label] as Row];
  if (p.reason) rows.push(['原因', p.reason]);
  return render(
    `【办结通知】${caseTitle(p.case)}${label}`,
    `${CHANGE_TYPE_LABELS[p.case.type]}申请已办结，结果：${label}。`,
    rows,
    p.case,
    p.status === 'APPROVED' ? '学生学籍已按申请变更。' : undefined,
  );
}

/** 催办: the stage is past its due date. */
export function reminderMail(p: { case: CaseSummary; stage: Stage; dueAt: Date; orgName?: string }): MailContent {
  const rows = [
    ...caseRows(p.case),
    ['审核环节', STAGE_LABELS[p.stage]] as Row,
    ['办理期限', formatDateTime(p.dueAt)] as Row,
  ];
  if (p.orgName) rows.push(['办理单位', p.orgName]);
  return render(
    `【催办】${caseTitle(p.case)}${STAGE_LABELS[p.stage]}已超期`,
    `${p.orgName ? `${p.orgName}：` : ''}以下${CHANGE_TYPE_LABELS[p.case.type]}申请的${STAGE_LABELS[p.stage]}已超过办理期限（${formatDateTime(p.dueAt)}），请尽快办理。`,
    rows,
    p.case,
  );
}

/** 超期上报: a stage is long overdue; sent to the organisation above the one holding it. */
export function escalationMail(p: {
  case: CaseSummary;
  stage: Stage;
  dueAt: Date;
  /** The organisation that has not acted. */
  orgName: string;
  /** The recipient, e.g. the county bureau above a school. */
  supervisorName?: string;
}): MailContent {
  const rows = [
    ...caseRows(p.case),
    ['审核环节', STAGE_LABELS[p.stage]] as Row,
    ['未办理单位', p.orgName] as Row,
    ['办理期限', formatDateTime(p.dueAt)] as Row,
  ];
  return render(
    `【超期上报】${p.orgName}${caseTitle(p.case)}${STAGE_LABELS[p.stage]}超期未办理`,
    `${p.supervisorName ? `${p.supervisorName}：` : ''}${p.orgName}的${STAGE_LABELS[p.stage]}已超过办理期限（${formatDateTime(p.dueAt)}）仍未办理，请督促。`,
    rows,
    p.case,
  );
}
