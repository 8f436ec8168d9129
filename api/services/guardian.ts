// Guardian self-service (一网通办, issue 14 item 4): the family asks where its case is with the reference and query
// code printed on its receipt, without logging in. The shared rules of DESIGN §5's public pages hold (public-access.ts):
// the code is stored only as a hash, every wrong input gets one answer, the answer has no name, no ID number and no
// comment. What a closed case shows, and for how long, is decided here (README "Guardian self-service").

import type { AuthUser } from '../auth';
import type { PrismaClient } from '../../infra/db';
import { appendAudit } from '../../infra/audit';
import { shanghaiDate } from '../../domain/calendar';
import { specOf } from '../../domain/change-types';
import { DECISION_LABELS, STAGE_LABELS } from '../../domain/labels';
import { groupCode } from '../../domain/public-code';
import { isOpenStatus, type ApplicationStatus } from '../../domain/types';
import { forbidden, notFound } from '../errors';
import { codeMatches, hashCode, newCredential, UNKNOWN_CODE_HASH } from './public-access';
import type { PredictionService } from './prediction';

/** A closed case answers for this long after it closed (the family collects the result), then like a wrong code. */
export const CLOSED_VISIBLE_DAYS = 90;
const DAY_MS = 86_400_000;

const STATUS_TEXT: Record<ApplicationStatus, string> = {
  IN_REVIEW: '正在审核',
  RETURNED: '已退回申请学校补充或更正材料，请联系申请学校；学校重新提交后继续审核',
  APPROVED: '已办结：审核通过',
  REJECTED: '已办结：审核未通过，原因请向申请学校咨询',
  WITHDRAWN: '已办结：申请学校已撤销申请',
  CANCELLED: '已办结：已由管理部门取消，原因请向申请学校咨询',
};

/** A reversal (纠错) answers in its own words: its approval undoes the change, its refusal leaves the change standing. */
const REVERSAL_STATUS_TEXT: Record<ApplicationStatus, string> = {
  ...STATUS_TEXT,
  IN_REVIEW: '正在审核纠错申请：审核通过后，原来的学籍变更将撤销',
  APPROVED: '已办结：纠错审核通过，原来的学籍变更已撤销，学籍已恢复为变更前的状态',
  REJECTED: '已办结：纠错审核未通过，原来的学籍变更仍然有效；原因请向申请学校咨询',
  WITHDRAWN: '已办结：申请学校已撤销纠错申请，原来的学籍变更仍然有效',
  CANCELLED: '已办结：纠错申请已由管理部门取消，原来的学籍变更仍然有效；原因请向申请学校咨询',
};

/** What the family of a reversed (or being reversed) change reads about its reversal. */
const REVERSED_TEXT: Record<ApplicationStatus, string> = {
  IN_REVIEW: '正在办理纠错：审核通过后，本次学籍变更将撤销',
  RETURNED: '正在办理纠错：纠错申请已退回申请学校补充材料',
  APPROVED: '已纠错：本次学籍变更已撤销，学籍已恢复为变更前的状态',
  REJECTED: '曾申请纠错，未获通过：本次学籍变更仍然有效',
  WITHDRAWN: '曾申请纠错，已撤销：本次学籍变更仍然有效',
  CANCELLED: '曾申请纠错，已取消：本次学籍变更仍然有效',
};

/** The reference and code as given to the family: grouped for reading aloud, and a link with the code after '#'. */
export function guardianAccessOf(appUrl: string, ref: string, code: string) {
  return {
    ref: groupCode(ref),
    code: groupCode(code),
    url: `${appUrl}/progress/${ref}#${code}`,
    queryPage: `${appUrl}/progress`,
  };
}

const day = (d: Date | null | undefined) => (d ? shanghaiDate(d.getTime()) : null);

/**
 * The case with that reference and code, as the family may see it; null for every wrong input (unknown reference,
 * wrong code, either malformed) and for a case closed more than CLOSED_VISIBLE_DAYS ago. `outcome` is for the log.
 */
export async function caseStatus(
  deps: { prisma: PrismaClient; predictions: PredictionService },
  ref: string | null,
  code: string | null,
  nowMs = Date.now(),
) {
  // Only the hash before the code is checked: the same work whether or not the reference exists.
  const key = ref
    ? await deps.prisma.application.findUnique({ where: { publicRef: ref }, select: { id: true, queryCodeHash: true } })
    : null;
  const ok = codeMatches(code ?? '-', key?.queryCodeHash ?? UNKNOWN_CODE_HASH) && !!key?.queryCodeHash && !!code;
  if (!ok || !key) return null;
  const a = await deps.prisma.application.findUniqueOrThrow({
    where: { id: key.id },
    include: {
      steps: { include: { org: { select: { name: true } } } },
      // 纠错, both ways: the case this one reverses, and the latest reversal of this one. Their public references
      // only (a reference alone opens nothing), never their ids.
      reverses: { select: { publicRef: true, status: true, closedAt: true, updatedAt: true } },
      reversals: {
        select: { publicRef: true, status: true, createdAt: true, closedAt: true, updatedAt: true },
        orderBy: { id: 'desc' },
        take: 1,
      },
    },
  });
  const closedAt = isOpenStatus(a.status) ? null : (a.closedAt ?? a.updatedAt);
  const reversal = a.reversals[0] ?? null;
  const reversalClosedAt =
    reversal && !isOpenStatus(reversal.status) ? (reversal.closedAt ?? reversal.updatedAt) : null;
  // A change being reversed stays visible while its reversal runs, and CLOSED_VISIBLE_DAYS after the reversal
  // closes: the family learns that its change was undone even when that came late in the window.
  const lastClosed =
    closedAt && reversal ? (reversalClosedAt && reversalClosedAt > closedAt ? reversalClosedAt : closedAt) : closedAt;
  const visibleUntil =
    lastClosed && !(reversal && !reversalClosedAt)
      ? new Date(lastClosed.getTime() + CLOSED_VISIBLE_DAYS * DAY_MS)
      : null;
  if (visibleUntil && visibleUntil.getTime() < nowMs) return { id: a.id, outcome: 'EXPIRED' as const, answer: null };

  const round = a.steps.filter((s) => s.round === a.round).sort((x, y) => x.seq - y.seq);
  const current = a.status === 'IN_REVIEW' ? round.find((s) => s.stage === a.currentStage && !s.decision) : undefined;
  const prediction = await deps.predictions.forCase(a, nowMs);
  return {
    id: a.id,
    outcome: 'FOUND' as const,
    answer: {
      ref: groupCode(ref!),
      type: a.reversesId === null ? specOf(a.type).label : `纠错（${specOf(a.type).label}）`,
      status: a.status,
      statusText:
        reversal?.status === 'APPROVED'
          ? '已办结：审核通过，此后经纠错已撤销，学籍已恢复为变更前的状态'
          : (a.reversesId === null ? STATUS_TEXT : REVERSAL_STATUS_TEXT)[a.status],
      // This change was reversed (or a reversal of it is under way, or was refused): what, when, under which reference.
      reversal: reversal
        ? {
            status: reversal.status,
            statusText: REVERSED_TEXT[reversal.status],
            ref: reversal.publicRef ? groupCode(reversal.publicRef) : null,
            filedOn: day(reversal.createdAt)!,
            closedOn: day(reversalClosedAt),
          }
        : null,
      // This case is a reversal: the change it undoes, by that case's reference and the day it was approved.
      reverses: a.reverses
        ? {
            ref: a.reverses.publicRef ? groupCode(a.reverses.publicRef) : null,
            approvedOn: day(a.reverses.closedAt ?? a.reverses.updatedAt),
          }
        : null,
      filedOn: day(a.createdAt)!,
      stage: current ? STAGE_LABELS[current.stage] : null,
      holder: current ? current.org.name : null,
      since: current ? day(a.waitingSince ?? current.openedAt) : null,
      dueDate: current ? day(current.dueAt) : null,
      overdue: !!current?.dueAt && current.dueAt.getTime() < nowMs,
      prediction: prediction ? { p50: prediction.p50, p80: prediction.p80 } : null,
      // Who decided what and when; never the comment (a reason may name the family's circumstances).
      steps: round.map((s) => ({
        stage: STAGE_LABELS[s.stage],
        org: s.org.name,
        openedOn: day(s.openedAt),
        decidedOn: day(s.decidedAt),
        result: s.decision ? DECISION_LABELS[s.decision] : null,
      })),
      closedOn: day(closedAt),
      visibleUntil: day(visibleUntil),
    },
  };
}

/**
 * A new query code for a case (the family lost its receipt): the applicant school's clerk or an administrator. The
 * reference stays (or is made, for a case filed before references existed); the old code stops working at once.
 * Audited without the code.
 */
export async function reissueQueryCode(prisma: PrismaClient, u: AuthUser, id: number, appUrl: string) {
  const a = await prisma.application.findUnique({
    where: { id },
    select: { id: true, applicantOrgCode: true, publicRef: true },
  });
  if (!a) throw notFound(`没有找到编号为 ${id} 的业务，或您无权查看`);
  if (u.role !== 'ADMIN' && !(u.role === 'SCHOOL_CLERK' && u.orgCode === a.applicantOrgCode)) {
    throw u.orgCode === a.applicantOrgCode
      ? forbidden('只有申请学校的学籍管理员可以重新生成查询码')
      : notFound(`没有找到编号为 ${id} 的业务，或您无权查看`);
  }
  const fresh = newCredential();
  const ref = a.publicRef ?? fresh.ref;
  await prisma.$transaction(async (tx) => {
    await tx.application.update({ where: { id }, data: { publicRef: ref, queryCodeHash: hashCode(fresh.code) } });
    await appendAudit(tx, {
      actor: u,
      action: 'application.query_code',
      entityType: 'application',
      entityId: id,
      applicationId: id,
      details: { newReference: a.publicRef === null },
    });
  });
  return guardianAccessOf(appUrl, ref, fresh.code);
}
