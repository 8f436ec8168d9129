// Printed documents: every print of a 学籍异动审批表 (any case) or 转学联系函 (an approved transfer) is issued —
// a row with its own random reference and the hash of its code, the facts as printed for the public page, and an
// audit event — then rendered as a PDF. Anyone holding the paper can check it on the public verification page; an
// administrator can revoke it.

import type { Prisma } from '../../generated/prisma/client';
import { appendAudit } from '../../infra/audit';
import type { PrismaClient } from '../../infra/db';
import { shanghaiDate } from '../../domain/calendar';
import { maskStudentNo } from '../../domain/id-number';
import {
  CHANGE_TYPE_LABELS,
  DECISION_LABELS,
  STAGE_LABELS,
  STATUS_LABELS,
  STUDENT_STATUS_LABELS,
} from '../../domain/labels';
import { groupCode, maskName } from '../../domain/public-code';
import { movesPupil, specOf, wordingOf } from '../../domain/change-types';
import { reasonCodeLabel, type ReasonCodes } from '../../domain/reason-codes';
import type { ApplicationStatus, ChangeType } from '../../domain/types';
import type { AuthUser } from '../auth';
import { conflict, notFound } from '../errors';
import { isoDay } from '../schemas/common';
import { renderDocumentPdf, type PrintedDocument } from './document-pdf';
import { codeMatches, newCredential, UNKNOWN_CODE_HASH } from './public-access';
import { applicationInclude, loadVisibleApplication } from './applications';

export type DocumentKind = 'APPROVAL_FORM' | 'TRANSFER_LETTER';
export const DOCUMENT_TITLES: Record<DocumentKind, string> = {
  APPROVAL_FORM: '学生学籍异动审批表',
  TRANSFER_LETTER: '转学联系函',
};

/** What the public page shows of a document: as printed, with the name masked, no ID number, no comments. */
export interface PublicFacts {
  title: string;
  applicationType: string;
  studentName: string;
  fromSchool: string;
  toSchool: string | null;
  effectiveDate: string;
  statusAtIssue: string;
  decisions: { stage: string; org: string; result: string; date: string }[];
  issuedAt: string;
  issuedBy: string;
}

const clock = new Intl.DateTimeFormat('zh-CN', {
  timeZone: 'Asia/Shanghai',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  hour12: false,
});
/** 2026-12-01 10:05, Beijing time. */
const timeText = (d: Date) => clock.format(d).replace(/\//g, '-');
/** 2026-12-01, Beijing time. */
const dayText = (d: Date | null) => (d ? shanghaiDate(d.getTime()) : '');

async function loadPrintable(prisma: PrismaClient, u: AuthUser, id: number) {
  await loadVisibleApplication(prisma, u, id);
  return prisma.application.findUniqueOrThrow({
    where: { id },
    include: {
      ...applicationInclude,
      student: {
        select: {
          studentNo: true,
          name: true,
          schoolCode: true,
          gender: true,
          birthDate: true,
          grade: true,
          className: true,
          status: true,
        },
      },
    },
  });
}
type Printable = Awaited<ReturnType<typeof loadPrintable>>;

const orgNames = async (prisma: PrismaClient, codes: (string | null)[]) =>
  new Map(
    (await prisma.organisation.findMany({ where: { code: { in: codes.filter((c): c is string => !!c) } } })).map(
      (o) => [o.code, o.name],
    ),
  );

/** Where the case stands, in one sentence. */
function statusLine(a: Printable, names: Map<string, string>): string {
  const status = a.status as ApplicationStatus;
  if (status === 'IN_REVIEW') {
    return `当前状态：审核中（${names.get(a.currentOrgCode ?? '') ?? ''} · ${a.currentStage ? STAGE_LABELS[a.currentStage] : ''}）`;
  }
  if (status === 'RETURNED') return `当前状态：已退回${names.get(a.applicantOrgCode) ?? ''}修改`;
  const closed = a.closedAt ? `，${dayText(a.closedAt)}` : '';
  const why = a.closeReason ? `。原因：${a.closeReason}` : '';
  const reversed =
    a.reversals[0]?.status === 'APPROVED' ? `；已纠错（纠错业务编号 ${a.reversals[0].id}），学籍已恢复` : '';
  return `当前状态：${status === 'APPROVED' ? '审批通过，学籍已变更' : STATUS_LABELS[status]}${closed}${why}${reversed}`;
}

function buildDocument(
  kind: DocumentKind,
  a: Printable,
  names: Map<string, string>,
  reasonCodes: ReasonCodes,
  issuer: string,
  issuedAt: Date,
  verification: PrintedDocument['verification'],
): { printed: PrintedDocument; facts: PublicFacts } {
  const type = a.type as ChangeType;
  const from = names.get(a.fromSchoolCode) ?? a.fromSchoolCode;
  const to = a.toSchoolCode ? (names.get(a.toSchoolCode) ?? a.toSchoolCode) : null;
  const steps = a.steps.filter((s) => s.round === a.round);
  const reason = [reasonCodeLabel(reasonCodes, type, a.reasonCode), a.reason].filter(Boolean).join('：');
  const fields = specOf(type).fields;
  const details = Object.entries((a.details as Record<string, unknown> | null) ?? {}).map(
    ([k, v]) => [fields.find((f) => f.name === k)?.label ?? k, String(v)] as [string, string],
  );
  const s = a.student;
  const decided = steps.filter((x) => x.decision);
  const printed: PrintedDocument = {
    kind,
    title: DOCUMENT_TITLES[kind],
    subtitle: `业务编号 ${a.id} · 第 ${a.round} 轮 · 出具 ${timeText(issuedAt)} · ${issuer}`,
    facts: [
      ['学生姓名', s.name],
      ['性别', s.gender === 'MALE' ? '男' : '女'],
      ['出生日期', isoDay(s.birthDate)],
      ['全国学籍号', maskStudentNo(s.studentNo)],
      ['年级班级', `${s.grade} 年级 · ${s.className}`],
      ['学籍状态', STUDENT_STATUS_LABELS[s.status]],
      ['异动类型', a.reversesId === null ? CHANGE_TYPE_LABELS[type] : `纠错（${CHANGE_TYPE_LABELS[type]}）`],
      ...(a.reversesId === null
        ? []
        : ([['纠错', `撤销业务编号 ${a.reversesId} 的学籍变更，恢复变更前的学籍`]] as [string, string][])),
      ['异动日期', isoDay(a.effectiveDate)],
      [wordingOf(type).fromSchool, from],
      ...(to ? ([['转入学校', to]] as [string, string][]) : []),
      ['异动原因', reason],
      ...details,
      ['申请时间', timeText(a.createdAt)],
    ],
    decisions: steps.map((x) => ({
      stage: STAGE_LABELS[x.stage],
      org: x.org.name,
      result: x.decision ? DECISION_LABELS[x.decision] : x.openedAt && a.status === 'IN_REVIEW' ? '办理中' : '—',
      actor: x.actorName ?? '',
      date: dayText(x.decidedAt),
      comment: x.comment ?? '',
    })),
    status: statusLine(a, names),
    verification,
  };
  if (kind === 'TRANSFER_LETTER') {
    const approvedOn = dayText(decided.at(-1)?.decidedAt ?? a.updatedAt);
    printed.letter = {
      to: from,
      paragraphs: [
        `你校学生${s.name}（${s.gender === 'MALE' ? '男' : '女'}，${isoDay(s.birthDate)} 出生，全国学籍号 ` +
          `${maskStudentNo(s.studentNo)}），因${reason || '转学'}，申请转入我校就读。该生转学申请已经` +
          `${decided.map((x) => x.org.name).join('、')}审核同意，学籍已于 ${approvedOn} 转入我校。`,
        '请按《中小学生学籍管理办法》第十五条的规定，自转学办结之日起一个月内将该生的学籍档案转至我校。',
        '特此函告。',
      ],
      from: to ?? '',
      date: approvedOn,
    };
  }
  const facts: PublicFacts = {
    title: DOCUMENT_TITLES[kind],
    applicationType: a.reversesId === null ? CHANGE_TYPE_LABELS[type] : `纠错（${CHANGE_TYPE_LABELS[type]}）`,
    studentName: maskName(s.name),
    fromSchool: from,
    toSchool: to,
    effectiveDate: isoDay(a.effectiveDate),
    statusAtIssue: a.status === 'APPROVED' ? '审批通过' : STATUS_LABELS[a.status as ApplicationStatus],
    decisions: decided.map((x) => ({
      stage: STAGE_LABELS[x.stage],
      org: x.org.name,
      result: DECISION_LABELS[x.decision!],
      date: dayText(x.decidedAt),
    })),
    issuedAt: issuedAt.toISOString(),
    issuedBy: issuer,
  };
  return { printed, facts };
}

/**
 * Issues and renders one document: 404 when the caller may not see the case; 409 for a letter of a case that is
 * not an approved transfer. The row, its audit event and the PDF's reference and code belong together: the code is
 * returned only inside the PDF.
 */
export async function issueDocument(
  deps: { prisma: PrismaClient; reasonCodes: ReasonCodes; appUrl: string },
  u: AuthUser,
  id: number,
  kind: DocumentKind,
): Promise<{ pdf: Buffer; ref: string; fileName: string }> {
  const { prisma } = deps;
  const a = await loadPrintable(prisma, u, id);
  if (kind === 'TRANSFER_LETTER' && !(movesPupil(a.type) && a.status === 'APPROVED')) {
    throw conflict('转学联系函只能为审批通过的转学业务出具');
  }
  if (kind === 'TRANSFER_LETTER' && (a.reversesId !== null || a.reversals[0]?.status === 'APPROVED')) {
    throw conflict('该转学已纠错（或本业务为纠错业务），不能出具转学联系函');
  }
  const names = await orgNames(prisma, [a.fromSchoolCode, a.toSchoolCode, a.currentOrgCode, a.applicantOrgCode]);
  const issuer = u.orgName ?? '系统管理员';
  const issuedAt = new Date();
  const { ref, code, codeHash } = newCredential();
  const verification = {
    // The code rides in the fragment: a browser never sends it to a server, the page POSTs it (DESIGN §5).
    url: `${deps.appUrl}/verify/${ref}#${code}`,
    ref: groupCode(ref),
    code: groupCode(code),
    verifyPage: `${deps.appUrl}/verify`,
    issuedAt: timeText(issuedAt),
  };
  const { printed, facts } = buildDocument(kind, a, names, deps.reasonCodes, issuer, issuedAt, verification);
  const pdf = await renderDocumentPdf(printed);
  await prisma.$transaction(async (tx) => {
    await tx.issuedDocument.create({
      data: {
        ref,
        codeHash,
        kind,
        applicationId: a.id,
        facts: facts as unknown as Prisma.InputJsonValue,
        issuedAt,
        issuedById: u.userId,
      },
    });
    await appendAudit(tx, {
      actor: u,
      action: 'document.issue',
      entityType: 'document',
      entityId: ref,
      applicationId: a.id,
      details: { kind, round: a.round, status: a.status },
    });
  });
  const fileName = `${kind === 'APPROVAL_FORM' ? '学籍异动审批表' : '转学联系函'}-${a.id}-${ref}.pdf`;
  return { pdf, ref, fileName };
}

const documentDto = (d: {
  ref: string;
  kind: DocumentKind;
  issuedAt: Date;
  revokedAt: Date | null;
  revokeReason: string | null;
  facts: Prisma.JsonValue;
}) => ({
  ref: d.ref,
  kind: d.kind,
  title: DOCUMENT_TITLES[d.kind],
  issuedAt: d.issuedAt.toISOString(),
  issuedBy: (d.facts as unknown as PublicFacts).issuedBy,
  revokedAt: d.revokedAt?.toISOString() ?? null,
  revokeReason: d.revokeReason,
});

/** The documents issued for a case the caller may see, newest first. */
export async function listDocuments(prisma: PrismaClient, u: AuthUser, id: number) {
  await loadVisibleApplication(prisma, u, id);
  const rows = await prisma.issuedDocument.findMany({ where: { applicationId: id }, orderBy: { id: 'desc' } });
  return { items: rows.map(documentDto) };
}

/** An administrator revokes a document (audited as document.revoke): the public page says so from then on. */
export async function revokeDocument(prisma: PrismaClient, u: AuthUser, ref: string, reason: string) {
  return prisma.$transaction(async (tx) => {
    const doc = await tx.issuedDocument.findUnique({ where: { ref } });
    if (!doc) throw notFound(`没有编号为 ${ref} 的文件`);
    if (doc.revokedAt) throw conflict('该文件已作废');
    const updated = await tx.issuedDocument.update({
      where: { id: doc.id },
      data: { revokedAt: new Date(), revokedById: u.userId, revokeReason: reason },
    });
    await appendAudit(tx, {
      actor: u,
      action: 'document.revoke',
      entityType: 'document',
      entityId: ref,
      applicationId: doc.applicationId,
      details: { kind: doc.kind, reason },
    });
    return documentDto(updated);
  });
}

/**
 * The public check: the document's facts as printed and whether it still stands, or null for every wrong input
 * (the caller answers all of them alike). The code's hash is compared even when the reference is unknown.
 */
export async function verifyDocument(prisma: PrismaClient, ref: string | null, code: string | null) {
  const doc = ref ? await prisma.issuedDocument.findUnique({ where: { ref } }) : null;
  const ok = codeMatches(code ?? '-', doc?.codeHash ?? UNKNOWN_CODE_HASH) && !!doc && !!code;
  if (!ok || !doc) return null;
  return {
    id: doc.id,
    answer: {
      status: doc.revokedAt ? ('REVOKED' as const) : ('VALID' as const),
      kind: doc.kind,
      revokedAt: doc.revokedAt?.toISOString() ?? null,
      facts: doc.facts as unknown as PublicFacts,
    },
  };
}
