import type { Prisma } from '../../generated/prisma/client';
import { appendAudit } from '../../infra/audit';
import type { PrismaClient } from '../../infra/db';
import { findDirtyText, stripForbidden, textProblem } from '../../domain/text';
import type { AuthUser } from '../auth';
import { conflict, notFound } from '../errors';

/** What a repair put in place of a value that held nothing but refused characters. */
const EMPTIED = '（已删除无效字符）';

const clean = (s: string) => stripForbidden(s).trim() || EMPTIED;

/** `value` with every string in it cleaned (a case's `details`), and the paths that changed. */
function cleanDeep(value: unknown, path: string[], changed: string[]): unknown {
  if (typeof value === 'string') {
    if (!textProblem(value)) return value;
    changed.push(path.join('.'));
    return clean(value);
  }
  if (Array.isArray(value)) return value.map((v, i) => cleanDeep(v, [...path, String(i)], changed));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [clean(k), cleanDeep(v, [...path, k], changed)]));
  }
  return value;
}

/**
 * An administrator's repair of a case wedged by stored text that breaks the free-text rule (DESIGN §5 "Free text"):
 * a value that got past the API — an old row, an import — makes the case's activity refuse to act (DirtyTextError),
 * and the stuck view shows it. This removes the refused characters from the case's own text (reason, details,
 * close reason, comments) and its pupil's (name, class), audited as `application.repair` with the fields it changed
 * — never their values — and the reason given. The failing activity's next attempt then succeeds.
 */
export async function repairCaseText(prisma: PrismaClient, u: AuthUser, id: number, reason: string) {
  return prisma.$transaction(async (tx) => {
    await tx.$queryRaw`select id from "Application" where id = ${id} for update`;
    const app = await tx.application.findUnique({
      where: { id },
      include: { student: true, steps: { select: { id: true, round: true, stage: true, comment: true } } },
    });
    if (!app) throw notFound(`没有找到编号为 ${id} 的业务`);
    const changed: string[] = [];
    const data: Prisma.ApplicationUpdateInput = {};
    if (textProblem(app.reason)) {
      changed.push('reason');
      data.reason = clean(app.reason);
    }
    if (app.closeReason && textProblem(app.closeReason)) {
      changed.push('closeReason');
      data.closeReason = clean(app.closeReason);
    }
    if (app.details && findDirtyText(app.details)) {
      data.details = cleanDeep(app.details, ['details'], changed) as Prisma.InputJsonValue;
    }
    if (Object.keys(data).length) await tx.application.update({ where: { id }, data });
    for (const s of app.steps) {
      if (s.comment && textProblem(s.comment)) {
        changed.push(`steps.${s.round}.${s.stage}.comment`);
        await tx.applicationStep.update({ where: { id: s.id }, data: { comment: clean(s.comment) } });
      }
    }
    const pupil: Prisma.StudentUpdateInput = {};
    if (textProblem(app.student.name)) {
      changed.push('student.name');
      pupil.name = clean(app.student.name);
    }
    if (textProblem(app.student.className)) {
      changed.push('student.className');
      pupil.className = clean(app.student.className);
    }
    if (Object.keys(pupil).length) await tx.student.update({ where: { studentNo: app.studentNo }, data: pupil });
    if (changed.length === 0) throw conflict('该业务没有含无效字符的字段，无需修复');
    await appendAudit(tx, {
      actor: u,
      action: 'application.repair',
      entityType: 'application',
      entityId: id,
      applicationId: id,
      details: { fields: changed, reason },
    });
    return changed;
  });
}
