// 纠错: the reversal of a pupil's most recent completed change, as a case of its own (README "纠错").

import type { ChainStep } from '../../domain/chain';
import { CHANGE_TYPE_LABELS } from '../../domain/labels';
import { shanghaiDate } from '../../domain/calendar';
import { reversalPatch, specOf, type PupilRecord } from '../../domain/change-types';
import type { ProvinceRules } from '../../domain/rules';
import { OPEN_STATUSES } from '../../domain/types';
import { loadCalendar } from '../../infra/deadlines';
import type { PrismaClient } from '../../infra/db';
import type { AuthUser } from '../auth';
import { conflict, forbidden } from '../errors';
import { insertCase, loadVisibleApplication, openCaseConflict } from './applications';

/** The last China calendar day on which a change approved at `approvedAt` may still be reversed. */
export async function reversalDeadline(
  prisma: PrismaClient,
  approvedAt: Date,
  window: ProvinceRules['reversalWindow'],
): Promise<string> {
  const day = shanghaiDate(approvedAt.getTime());
  if (window.unit === 'working') return (await loadCalendar(prisma)).addWorkingDays(day, window.days).date;
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + window.days);
  return d.toISOString().slice(0, 10);
}

/**
 * Files a reversal of case `id`: 201 the new case. Only the school that filed the original, only for an approved
 * change that is the pupil's most recent completed one, within the province's window, with no case open for the
 * pupil, and not of a reversal. The new case runs the original's chain (its last round's stages and organisations)
 * through the same workflow; its approval restores the fields the original changed (activities/index.ts).
 */
export async function createReversal(
  prisma: PrismaClient,
  u: AuthUser,
  id: number,
  reason: string,
  rules: Pick<ProvinceRules, 'reversalWindow'>,
  now: Date = new Date(),
) {
  const original = await loadVisibleApplication(prisma, u, id);
  if (u.role !== 'SCHOOL_CLERK' || u.orgCode !== original.applicantOrgCode) {
    throw forbidden('只有原申请学校可以申请纠错');
  }
  if (original.status !== 'APPROVED') throw conflict('只有审批通过的业务可以申请纠错');
  if (original.reversesId !== null) throw conflict('纠错业务不能再纠错');
  const label = CHANGE_TYPE_LABELS[original.type as keyof typeof CHANGE_TYPE_LABELS] ?? original.type;

  const line = await prisma.studentHistory.findUnique({ where: { applicationId: original.id } });
  if (!line) throw conflict('该业务没有学籍变更记录，不能纠错');
  const latest = await prisma.studentHistory.findFirst({
    where: { studentNo: original.studentNo },
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    select: { id: true, applicationId: true },
  });
  if (latest && latest.id !== line.id) {
    const after = latest.applicationId ? `（编号 ${latest.applicationId}）` : '';
    throw conflict(`只能纠错该学生最近一次办结的异动：此后该学生已有异动${after}办结`);
  }

  const last = await reversalDeadline(prisma, line.createdAt, rules.reversalWindow);
  const today = shanghaiDate(now.getTime());
  if (today > last) {
    const unit = rules.reversalWindow.unit === 'working' ? '个工作日' : '天';
    throw conflict(`已超过纠错时限：审批通过后 ${rules.reversalWindow.days} ${unit}内可申请纠错（截至 ${last}）`);
  }

  const open = await prisma.application.findFirst({
    where: { studentNo: original.studentNo, status: { in: OPEN_STATUSES } },
    select: { id: true },
  });
  if (open) throw openCaseConflict(open.id);

  // The record must still be what the change made it: otherwise restoring its before-values would undo something else.
  const pupil = await prisma.student.findUniqueOrThrow({ where: { studentNo: original.studentNo } });
  const after: { [K in keyof PupilRecord]: PupilRecord[K] | null } = {
    schoolCode: line.toSchoolCode,
    status: line.toStatus,
    grade: line.toGrade,
  };
  if (specOf(original.type).changes.some((field) => after[field] !== pupil[field])) {
    throw conflict(`该学生的学籍在这次${label}之后已被修改，不能纠错`);
  }
  // The values to restore must be on the line (a line written before the field was recorded would not have them).
  try {
    reversalPatch(original.type, line);
  } catch {
    throw conflict(`这次${label}的记录没有变更前的学籍，不能自动纠错`);
  }

  const chain: ChainStep[] = original.steps
    .filter((s) => s.round === original.round)
    .map((s) => ({ stage: s.stage, orgCode: s.orgCode }));
  return insertCase(
    prisma,
    u,
    {
      type: original.type,
      studentNo: original.studentNo,
      fromSchoolCode: original.fromSchoolCode,
      toSchoolCode: original.toSchoolCode,
      reason,
      reasonCode: null,
      effectiveDate: today,
      details: null,
      reversesId: original.id,
    },
    chain,
    'application.reversal',
  );
}
