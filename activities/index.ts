import type { Logger } from 'pino';
import type { PrismaClient } from '../infra/db';
import type { Prisma } from '../generated/prisma/client';
import { appendAudit } from '../infra/audit';
import type { ChainStep } from '../domain/chain';
import {
  isOpenStatus,
  type Actor,
  type ApplicationStatus,
  type ChangeType,
  type Decision,
  type Stage,
  type StudentStatus,
} from '../domain/types';
import { maskStudentNo } from '../domain/id-number';
import { gradeAfter, statusAfter } from '../domain/status-machine';
import type { Corrections, Outcome } from '../workflows/messages';
import { ApplicationMissingError, InvariantViolationError } from './errors';
import type { Mailer } from '../infra/mailer';
import { loadCalendar } from '../infra/deadlines';
import type { WorkingCalendar } from '../domain/calendar';
import { DEFAULT_DEADLINE_POLICY, stageDeadline, type DeadlinePolicy } from '../domain/deadlines';
import { createDeadlineActivities } from './deadlines';
import { createMailActivities } from './mail';
import { createNotifyActivities } from './notify';

export interface ActivityDeps {
  prisma: PrismaClient;
  logger: Logger;
  /** Where mail goes: SMTP, or .eml files (infra/mailer.ts). */
  mailer: Mailer;
  /** Time limits, reminders and escalation (settings/deadlines.json); default: 10 working days per stage. */
  deadlines?: DeadlinePolicy;
  /** The working calendar; default: the published years plus those loaded by an administrator (table CalendarYear). */
  calendar?: () => Promise<WorkingCalendar>;
  /** The web console's address, for links in mail. */
  appUrl?: string;
  now?: () => Date;
}

export interface RecordDecisionInput {
  applicationId: number;
  round: number;
  stage: Stage;
  decision: Decision;
  comment: string | null;
  actor: Actor;
  /** The stage that becomes current, or null when this decision ends the case. */
  next: ChainStep | null;
  finalStatus: ApplicationStatus | null;
  /** Set when an administrator decides in place of the stage's organisation: why (audited). */
  override?: { reason: string };
}

export interface StartRoundInput {
  applicationId: number;
  round: number;
  chain: ChainStep[];
  corrections: Corrections;
  actor: Actor;
}

export interface CloseApplicationInput {
  applicationId: number;
  status: Extract<ApplicationStatus, 'WITHDRAWN' | 'CANCELLED'>;
  reason: string;
  actor: Actor;
}

type Tx = Prisma.TransactionClient;

/** Locks the application row for the rest of the transaction, so two runs of one activity serialise. */
async function lockApplication(tx: Tx, applicationId: number) {
  await tx.$queryRaw`select id from "Application" where id = ${applicationId} for update`;
  const app = await tx.application.findUnique({ where: { id: applicationId } });
  if (!app) throw new ApplicationMissingError(applicationId);
  return app;
}

const outcomeOf = (a: { status: ApplicationStatus; currentStage: Stage | null; currentOrgCode: string | null }) => ({
  status: a.status,
  currentStage: a.currentStage,
  currentOrgCode: a.currentOrgCode,
});

/** What an approved change did to the pupil's record, for the audit trail. */
interface PupilChange {
  studentNo: string;
  type: ChangeType;
  fromSchoolCode: string;
  toSchoolCode: string;
  fromStatus: StudentStatus;
  toStatus: StudentStatus;
  fromGrade: number;
  toGrade: number;
}

/**
 * Applies an approved change to the pupil's record and writes its one history line. Called inside the
 * transaction that marks the case APPROVED; the unique applicationId on the history makes a second
 * application impossible even if the row lock were bypassed. Returns null when it was applied before.
 */
async function applyChange(tx: Tx, applicationId: number, at: Date): Promise<PupilChange | null> {
  const app = await tx.application.findUniqueOrThrow({
    where: { id: applicationId },
    include: { student: true, steps: { include: { org: true }, orderBy: { seq: 'asc' } } },
  });
  const already = await tx.studentHistory.findUnique({ where: { applicationId } });
  if (already) return null;
  const pupil = app.student;
  const toStatus = statusAfter(app.type, pupil.status);
  const toGrade = gradeAfter(app.type, pupil.grade);
  const toSchoolCode = app.type === 'TRANSFER' ? app.toSchoolCode : pupil.schoolCode;
  if (!toSchoolCode) throw new InvariantViolationError(`transfer ${applicationId} has no receiving school`);

  const change: PupilChange = {
    studentNo: pupil.studentNo,
    type: app.type,
    fromSchoolCode: pupil.schoolCode,
    toSchoolCode,
    fromStatus: pupil.status,
    toStatus,
    fromGrade: pupil.grade,
    toGrade,
  };
  await tx.student.update({
    where: { studentNo: pupil.studentNo },
    data: { schoolCode: toSchoolCode, status: toStatus, grade: toGrade },
  });
  await tx.studentHistory.create({
    data: {
      ...change,
      applicationId,
      effectiveDate: app.effectiveDate,
      approvedBy: app.steps.filter((s) => s.round === app.round).map((s) => s.org.name),
      createdAt: at,
    },
  });
  return change;
}

/** Activities are built with their dependencies so the worker injects real ones and tests inject their own. */
export function createActivities({
  prisma,
  logger,
  mailer,
  deadlines = DEFAULT_DEADLINE_POLICY,
  calendar = () => loadCalendar(prisma),
  appUrl,
  now = () => new Date(),
}: ActivityDeps) {
  const { sendMail } = createMailActivities({ prisma, mailer, logger });
  /** The due time of a stage opening at `at`, as step columns. */
  const dueFields = (cal: WorkingCalendar, type: ChangeType, stage: Stage, at: Date) => {
    const d = stageDeadline(cal, deadlines, { type, stage, openedAtMs: at.getTime() });
    return { dueAt: new Date(d.dueAtMs), dueProvisional: d.provisional };
  };
  return {
    ...createDeadlineActivities({ prisma, logger, now, policy: deadlines, calendar }),
    ...createNotifyActivities({ prisma, logger, sendMail, appUrl }),

    /**
     * Writes one decision to the read model in one transaction: the step, the next stage (opened now),
     * the case's status and, for the final approval, the change to the pupil's record. Idempotent: a
     * step that already carries a decision is left as it is.
     */
    async recordDecision(input: RecordDecisionInput): Promise<Outcome> {
      const cal = input.next ? await calendar() : null;
      return prisma.$transaction(async (tx) => {
        const app = await lockApplication(tx, input.applicationId);
        const step = await tx.applicationStep.findUnique({
          where: {
            applicationId_round_stage: { applicationId: input.applicationId, round: input.round, stage: input.stage },
          },
        });
        if (!step) throw new InvariantViolationError(`no step ${input.stage} in round ${input.round}`);
        if (step.decision) return outcomeOf(app);

        const at = now();
        await tx.applicationStep.update({
          where: { id: step.id },
          data: {
            decision: input.decision,
            comment: input.comment,
            actorId: input.actor.userId,
            actorName: input.actor.displayName,
            decidedAt: at,
          },
        });
        if (input.next) {
          await tx.applicationStep.update({
            where: {
              applicationId_round_stage: {
                applicationId: input.applicationId,
                round: input.round,
                stage: input.next.stage,
              },
            },
            // Due from now, so the answer to the decision already shows it (openStage then finds it set).
            data: { openedAt: at, ...dueFields(cal!, app.type, input.next.stage, at) },
          });
        }
        const change = input.finalStatus === 'APPROVED' ? await applyChange(tx, input.applicationId, at) : null;
        let data: Prisma.ApplicationUpdateInput;
        if (input.next) data = { currentStage: input.next.stage, currentOrgCode: input.next.orgCode };
        else if (input.finalStatus === 'RETURNED') {
          // Back to the applicant school to correct and resubmit: it holds the case, at no stage.
          data = { status: 'RETURNED', currentStage: null, currentOrgCode: app.applicantOrgCode };
        } else {
          data = { status: input.finalStatus ?? app.status, currentStage: null, currentOrgCode: null, closedAt: at };
        }
        const updated = await tx.application.update({ where: { id: input.applicationId }, data });

        // Last in the transaction: the chain lock is then held only for the appends. Written only on
        // this branch, so a retried activity that finds the step decided adds nothing.
        const audit = (
          action: string,
          details: Record<string, unknown>,
          entity: { entityType: string; entityId: string | number } = {
            entityType: 'application',
            entityId: input.applicationId,
          },
        ) =>
          appendAudit(
            tx,
            {
              actor: input.actor,
              action,
              ...entity,
              applicationId: input.applicationId,
              details,
            },
            at,
          );
        await audit(input.override ? 'application.override' : 'application.decide', {
          round: input.round,
          stage: input.stage,
          orgCode: step.orgCode,
          decision: input.decision,
          comment: input.comment,
          ...(input.override ? { reason: input.override.reason } : {}),
          status: updated.status,
          nextStage: input.next?.stage ?? null,
        });
        if (input.finalStatus === 'APPROVED') {
          await audit('application.approved', { round: input.round, type: app.type });
        } else if (input.finalStatus === 'REJECTED') {
          await audit('application.rejected', { round: input.round, stage: input.stage, comment: input.comment });
        } else if (input.finalStatus === 'RETURNED') {
          await audit('application.return', {
            round: input.round,
            stage: input.stage,
            comment: input.comment,
            to: app.applicantOrgCode,
          });
        }
        if (change) {
          const { studentNo, ...record } = change;
          // A 学籍号 contains the ID number: the pupil is named by the masked one (and the case).
          await audit('student.change', record, { entityType: 'student', entityId: maskStudentNo(studentNo) });
        }
        logger.info(
          {
            applicationId: input.applicationId,
            stage: input.stage,
            decision: input.decision,
            actor: input.actor.username,
            ...(input.override ? { override: true } : {}),
          },
          'decision recorded',
        );
        return outcomeOf(updated);
      });
    },

    /**
     * Starts the next round of a returned case: the applicant's corrections, a fresh set of steps for
     * the same chain with the first one open. Earlier rounds' steps stay as they were. Idempotent: a
     * round that already exists is left as it is.
     */
    async startRound(input: StartRoundInput): Promise<Outcome> {
      const cal = await calendar();
      return prisma.$transaction(async (tx) => {
        const app = await lockApplication(tx, input.applicationId);
        if (app.round >= input.round) return outcomeOf(app);
        const at = now();
        await tx.applicationStep.createMany({
          data: input.chain.map((s, i) => ({
            applicationId: input.applicationId,
            round: input.round,
            seq: i + 1,
            stage: s.stage,
            orgCode: s.orgCode,
            openedAt: i === 0 ? at : null,
            ...(i === 0 ? dueFields(cal, app.type, s.stage, at) : {}),
          })),
          skipDuplicates: true,
        });
        const c = input.corrections;
        const updated = await tx.application.update({
          where: { id: input.applicationId },
          data: {
            round: input.round,
            status: 'IN_REVIEW',
            currentStage: input.chain[0].stage,
            currentOrgCode: input.chain[0].orgCode,
            ...(c.reason !== undefined ? { reason: c.reason } : {}),
            ...(c.effectiveDate !== undefined ? { effectiveDate: new Date(`${c.effectiveDate}T00:00:00Z`) } : {}),
            ...(c.details !== undefined
              ? { details: (c.details ?? undefined) as Prisma.InputJsonValue | undefined }
              : {}),
          },
        });
        await appendAudit(
          tx,
          {
            actor: input.actor,
            action: 'application.resubmit',
            entityType: 'application',
            entityId: input.applicationId,
            applicationId: input.applicationId,
            // What the applicant corrected (reason, date, type-specific fields): never ID numbers.
            details: { round: input.round, corrections: c },
          },
          at,
        );
        logger.info(
          { applicationId: input.applicationId, round: input.round, actor: input.actor.username },
          'case resubmitted',
        );
        return outcomeOf(updated);
      });
    },

    /** Ends an open case as WITHDRAWN or CANCELLED. Idempotent: a closed case is left as it is. */
    async closeApplication(input: CloseApplicationInput): Promise<Outcome> {
      return prisma.$transaction(async (tx) => {
        const app = await lockApplication(tx, input.applicationId);
        if (!isOpenStatus(app.status)) return outcomeOf(app);
        const at = now();
        const updated = await tx.application.update({
          where: { id: input.applicationId },
          data: {
            status: input.status,
            currentStage: null,
            currentOrgCode: null,
            closeReason: input.reason,
            closedById: input.actor.userId,
            closedAt: at,
          },
        });
        await appendAudit(
          tx,
          {
            actor: input.actor,
            action: input.status === 'WITHDRAWN' ? 'application.withdraw' : 'application.cancel',
            entityType: 'application',
            entityId: input.applicationId,
            applicationId: input.applicationId,
            details: { reason: input.reason, from: app.status, stage: app.currentStage, round: app.round },
          },
          at,
        );
        logger.info(
          { applicationId: input.applicationId, status: input.status, actor: input.actor.username },
          'case closed',
        );
        return outcomeOf(updated);
      });
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
