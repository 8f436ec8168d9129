import type { Logger } from 'pino';
import type { PrismaClient } from '../infra/db';
import type { Prisma } from '../generated/prisma/client';
import { appendAudit } from '../infra/audit';
import type { ChainStep } from '../domain/chain';
import type { Actor, ApplicationStatus, ChangeType, Decision, Stage, StudentStatus } from '../domain/types';
import { maskStudentNo } from '../domain/id-number';
import { recordAfter, reversalPatch, type PupilRecord } from '../domain/change-types';
import type { CaseState, Corrections, DecisionWritten, Outcome, WriteResult } from '../workflows/messages';
import { InvariantViolationError } from './errors';
import { loadCalendar } from '../infra/deadlines';
import type { WorkingCalendar } from '../domain/calendar';
import {
  deadlineFor,
  DEFAULT_DEADLINE_POLICY,
  nextReminderAt,
  stageDeadline,
  type DeadlinePolicy,
  type StageDeadline,
} from '../domain/deadlines';
import { Rejection } from '../workflows/messages';
import { createDeadlineActivities } from './deadlines';
import { createNotifyActivities } from './notify';
import { createOutbox, decisionMails, MailDirectory } from './outbox';
import { applyRollup, type RollupChange } from '../infra/rollup';
import { assertCleanCase, bumpVersion, lockCase, type LockedCase } from './cases';

export interface ActivityDeps {
  prisma: PrismaClient;
  logger: Logger;
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

/**
 * What a write did: the case's state, the time limit of the stage it opened (null when none opened), and for lean
 * workflows what it refused and the case as Postgres holds it afterwards (WriteResult).
 */
export interface DecisionRecord extends Outcome, WriteResult {
  deadline: StageDeadline | null;
  /** A decision's own facts, for its Update's answer; absent when the write found nothing to do. */
  written?: DecisionWritten;
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

interface StepRow {
  id: number;
  seq: number;
  stage: Stage;
  orgCode: string;
  openedAt: Date | null;
  overdueAt: Date | null;
  decision: Decision | null;
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
  /** 纠错: the case whose change this undid. */
  reverses?: number;
}

/**
 * Applies an approved change to the pupil's record and writes its one history line, inside the transaction that
 * marks the case APPROVED; the unique applicationId on the history makes a second application impossible even if
 * the row lock were bypassed. Returns null when it was applied before.
 */
async function applyChange(tx: Tx, app: LockedCase, approvedBy: string[], at: Date): Promise<PupilChange | null> {
  const [pupil] = await tx.$queryRaw<{ studentNo: string; schoolCode: string; status: StudentStatus; grade: number }[]>`
    select "studentNo", "schoolCode", status::text as status, grade from "Student" where "studentNo" = ${app.studentNo} for update`;
  const already = await tx.studentHistory.findUnique({ where: { applicationId: app.id }, select: { id: true } });
  if (already) return null;
  // What the approval does to the record is the change type's own (domain/change-types/); a reversal (纠错) puts back
  // the fields the original changed, as its history line recorded them before the change.
  let after: PupilRecord;
  try {
    if (app.reversesId === null) {
      after = recordAfter(app.type, pupil, app);
    } else {
      const line = await tx.studentHistory.findUnique({ where: { applicationId: app.reversesId } });
      if (!line) throw new Error(`the reversed case ${app.reversesId} has no history line`);
      after = { ...pupil, ...reversalPatch(app.type, line) };
    }
  } catch (e) {
    throw new InvariantViolationError(`case ${app.id}: ${(e as Error).message}`);
  }
  const { schoolCode: toSchoolCode, status: toStatus, grade: toGrade } = after;

  const change: PupilChange = {
    studentNo: pupil.studentNo,
    type: app.type,
    fromSchoolCode: pupil.schoolCode,
    toSchoolCode,
    fromStatus: pupil.status,
    toStatus,
    fromGrade: pupil.grade,
    toGrade,
    ...(app.reversesId === null ? {} : { reverses: app.reversesId }),
  };
  await tx.student.update({
    where: { studentNo: pupil.studentNo },
    data: { schoolCode: toSchoolCode, status: toStatus, grade: toGrade },
  });
  const { reverses, ...values } = change;
  await tx.studentHistory.create({
    data: {
      ...values,
      applicationId: app.id,
      effectiveDate: app.effectiveDate,
      approvedBy,
      createdAt: at,
      reversesApplicationId: reverses ?? null,
    },
  });
  return change;
}

/**
 * An approved reversal revokes every document still standing that was printed for the case it reversed (the public
 * verification page says so from then on). Returns what it revoked, for the audit entries written after.
 */
async function revokeReversedDocuments(tx: Tx, app: LockedCase, actor: Actor, at: Date) {
  if (app.reversesId === null) return [];
  const docs = await tx.issuedDocument.findMany({
    where: { applicationId: app.reversesId, revokedAt: null },
    select: { id: true, ref: true, kind: true },
    orderBy: { id: 'asc' },
  });
  const reason = `该业务已纠错（纠错业务编号 ${app.id}）`;
  if (docs.length) {
    await tx.issuedDocument.updateMany({
      where: { id: { in: docs.map((d) => d.id) } },
      data: { revokedAt: at, revokedById: actor.userId, revokeReason: reason },
    });
  }
  return docs.map((d) => ({ ref: d.ref, kind: d.kind, reason }));
}

/** The audit entries of an approved reversal on the case it reversed: that it was, and each document it revoked. */
async function auditReversed(
  tx: Tx,
  app: LockedCase,
  actor: Actor,
  revoked: Awaited<ReturnType<typeof revokeReversedDocuments>>,
  at: Date,
) {
  if (app.reversesId === null) return;
  const original = app.reversesId;
  await appendAudit(
    tx,
    {
      actor,
      action: 'application.reversed',
      entityType: 'application',
      entityId: original,
      applicationId: original,
      details: { reversal: app.id },
    },
    at,
  );
  for (const doc of revoked) {
    await appendAudit(
      tx,
      {
        actor,
        action: 'document.revoke',
        entityType: 'document',
        entityId: doc.ref,
        applicationId: original,
        details: { kind: doc.kind, reason: doc.reason, reversal: app.id },
      },
      at,
    );
  }
}

/** Activities are built with their dependencies so the worker injects real ones and tests inject their own. */
export function createActivities({
  prisma,
  logger,
  deadlines = DEFAULT_DEADLINE_POLICY,
  calendar = () => loadCalendar(prisma),
  appUrl,
  now = () => new Date(),
}: ActivityDeps) {
  const directory = new MailDirectory();
  const outbox = createOutbox({ logger, directory, appUrl });

  // The working calendar changes a few times a year (an administrator loads a year): kept in memory and checked
  // against the table's version inside each transaction that needs it, so it is never stale and rarely reloaded.
  let cached: { version: string; calendar: WorkingCalendar } | null = null;
  const calendarIn = async (tx: Tx): Promise<WorkingCalendar> => {
    const [v] = await tx.$queryRaw<{ version: string }[]>`
      select count(*)::text || ':' || coalesce(max("loadedAt")::text, '-') as version from "CalendarYear"`;
    if (cached?.version !== v.version) cached = { version: v.version, calendar: await calendar() };
    return cached.calendar;
  };
  const deadlineOf = (cal: WorkingCalendar, type: ChangeType, stage: Stage, at: Date) =>
    stageDeadline(cal, deadlines, { type, stage, openedAtMs: at.getTime() });

  /** The case as Postgres holds it now, with its current stage's time limit and timers (for lean workflows). */
  const stateOf = async (tx: Tx, app: LockedCase, version = app.version): Promise<CaseState> => {
    const base = { ...outcomeOf(app), round: app.round, version };
    if (app.status !== 'IN_REVIEW' || !app.currentStage) return { ...base, stage: null };
    const [step] = await tx.$queryRaw<
      {
        dueAt: Date | null;
        dueProvisional: boolean;
        overdueAt: Date | null;
        remindersSent: number;
        lastRemindedAt: Date | null;
        escalatedAt: Date | null;
      }[]
    >`select "dueAt", "dueProvisional", "overdueAt", "remindersSent", "lastRemindedAt", "escalatedAt"
        from "ApplicationStep"
       where "applicationId" = ${app.id} and round = ${app.round} and stage = ${app.currentStage}::"Stage"`;
    const cal = step?.dueAt ? await calendarIn(tx) : null;
    return {
      ...base,
      stage: {
        deadline: step?.dueAt
          ? deadlineFor(cal!, deadlines, { dueAtMs: step.dueAt.getTime(), provisional: step.dueProvisional })
          : null,
        overdue: !!step?.overdueAt,
        remindersSent: step?.remindersSent ?? 0,
        escalated: !!step?.escalatedAt,
        nextReminderAtMs:
          step?.overdueAt && step.lastRemindedAt
            ? nextReminderAt(cal!, deadlines, step.lastRemindedAt.getTime())
            : null,
      },
    };
  };
  const freshStage = (deadline: StageDeadline | null) => ({
    deadline,
    overdue: false,
    remindersSent: 0,
    escalated: false,
    nextReminderAtMs: null,
  });

  const audit = (
    tx: Tx,
    applicationId: number,
    actor: Actor | null,
    action: string,
    details: Record<string, unknown>,
    at: Date,
  ) =>
    appendAudit(tx, { actor, action, entityType: 'application', entityId: applicationId, applicationId, details }, at);

  return {
    ...createDeadlineActivities({ prisma, logger, now, policy: deadlines, calendarIn, outbox, stateOf }),
    ...createNotifyActivities({ prisma, outbox }),

    /** The case as Postgres holds it (a lean workflow's sync). Reads only. */
    async readCase(input: { applicationId: number }): Promise<CaseState> {
      return prisma.$transaction(async (tx) => stateOf(tx, await lockCase(tx, input.applicationId)));
    },

    /**
     * Writes one decision in one transaction: the step, the next stage (opened now, with its due time), the case's
     * state, for the final approval the change to the pupil's record, the statistics, the mails it causes and the
     * audit entries. Idempotent: a retry finds the step decided and writes nothing. A case that is no longer in
     * review at this round (withdrawn, cancelled, resubmitted meanwhile) is left as it is, so a retried approval can
     * never open a stage of a closed case.
     */
    async recordDecision(input: RecordDecisionInput): Promise<DecisionRecord> {
      return prisma.$transaction(async (tx) => {
        const app = await lockCase(tx, input.applicationId);
        const steps = await tx.$queryRaw<StepRow[]>`
          select id, seq, stage::text as stage, "orgCode", "openedAt", "overdueAt", decision::text as decision
            from "ApplicationStep" where "applicationId" = ${input.applicationId} and round = ${input.round}
           order by seq`;
        const step = steps.find((s) => s.stage === input.stage);
        if (!step) throw new InvariantViolationError(`no step ${input.stage} in round ${input.round}`);
        // Written before (this activity retried, or the workflow replayed without the task that wrote it): done.
        if (step.decision === input.decision)
          return { ...outcomeOf(app), deadline: null, state: await stateOf(tx, app) };
        // The case has moved on (another decision, a withdrawal, a new round): refused, nothing written.
        if (
          app.status !== 'IN_REVIEW' ||
          app.round !== input.round ||
          app.currentStage !== input.stage ||
          step.decision
        ) {
          const refused =
            app.status === 'IN_REVIEW' || app.status === 'RETURNED' ? Rejection.StaleStage : Rejection.CaseClosed;
          return { ...outcomeOf(app), deadline: null, refused, state: await stateOf(tx, app) };
        }
        assertCleanCase(app);

        const at = now();
        await tx.$executeRaw`
          update "ApplicationStep" set decision = ${input.decision}::"Decision", comment = ${input.comment},
                 "actorId" = ${input.actor.userId}, "actorName" = ${input.actor.displayName}, "decidedAt" = ${at}
           where id = ${step.id}`;
        let deadline: StageDeadline | null = null;
        if (input.next) {
          // Due from now, so the answer to the decision already shows it.
          deadline = deadlineOf(await calendarIn(tx), app.type, input.next.stage, at);
          await tx.$executeRaw`
            update "ApplicationStep" set "openedAt" = ${at}, "dueAt" = ${new Date(deadline.dueAtMs)},
                   "dueProvisional" = ${deadline.provisional}
             where "applicationId" = ${input.applicationId} and round = ${input.round} and stage = ${input.next.stage}::"Stage"`;
        }
        const change =
          input.finalStatus === 'APPROVED'
            ? await applyChange(tx, app, await Promise.all(steps.map((s) => directory.nameOf(tx, s.orgCode))), at)
            : null;
        const revoked = change ? await revokeReversedDocuments(tx, app, input.actor, at) : [];

        let status: ApplicationStatus = app.status;
        let currentStage: Stage | null = null;
        let currentOrgCode: string | null = null;
        if (input.next) {
          currentStage = input.next.stage;
          currentOrgCode = input.next.orgCode;
          await tx.$executeRaw`
            update "Application" set "currentStage" = ${currentStage}::"Stage", "currentOrgCode" = ${currentOrgCode},
                   "waitingSince" = ${at}, "updatedAt" = ${at}
             where id = ${app.id}`;
        } else if (input.finalStatus === 'RETURNED') {
          // Back to the applicant school to correct and resubmit: it holds the case, at no stage.
          status = 'RETURNED';
          currentOrgCode = app.applicantOrgCode;
          await tx.$executeRaw`
            update "Application" set status = 'RETURNED', "currentStage" = null, "currentOrgCode" = ${currentOrgCode},
                   "waitingSince" = ${at}, "updatedAt" = ${at}
             where id = ${app.id}`;
        } else {
          status = input.finalStatus ?? app.status;
          await tx.$executeRaw`
            update "Application" set status = ${status}::"ApplicationStatus", "currentStage" = null,
                   "currentOrgCode" = null, "waitingSince" = null, "closedAt" = ${at}, "updatedAt" = ${at}
             where id = ${app.id}`;
        }

        const rollup: RollupChange[] = [
          {
            stage: input.stage,
            orgCode: step.orgCode,
            open: -1,
            overdue: step.overdueAt ? -1 : 0,
            decidedAfterMs: at.getTime() - (step.openedAt ?? at).getTime(),
          },
        ];
        if (input.next) rollup.push({ stage: input.next.stage, orgCode: input.next.orgCode, open: 1 });
        await applyRollup(tx, rollup);

        await outbox.enqueue(
          tx,
          app,
          decisionMails({
            applicantOrgCode: app.applicantOrgCode,
            round: input.round,
            stage: input.stage,
            deciderOrgCode: step.orgCode,
            decision: input.decision,
            comment: input.comment,
            next: input.next ? { ...input.next, dueAt: deadline ? new Date(deadline.dueAtMs) : null } : null,
            finalStatus: input.finalStatus,
          }),
        );

        // Last in the transaction: the audit chain's lock is then held only for the appends.
        await audit(
          tx,
          app.id,
          input.actor,
          input.override ? 'application.override' : 'application.decide',
          {
            round: input.round,
            stage: input.stage,
            orgCode: step.orgCode,
            decision: input.decision,
            comment: input.comment,
            ...(input.override ? { reason: input.override.reason } : {}),
            status,
            nextStage: input.next?.stage ?? null,
          },
          at,
        );
        if (input.finalStatus === 'APPROVED') {
          await audit(tx, app.id, input.actor, 'application.approved', { round: input.round, type: app.type }, at);
        } else if (input.finalStatus === 'REJECTED') {
          await audit(
            tx,
            app.id,
            input.actor,
            'application.rejected',
            { round: input.round, stage: input.stage, comment: input.comment },
            at,
          );
        } else if (input.finalStatus === 'RETURNED') {
          await audit(
            tx,
            app.id,
            input.actor,
            'application.return',
            {
              round: input.round,
              stage: input.stage,
              comment: input.comment,
              to: app.applicantOrgCode,
            },
            at,
          );
        }
        if (change) {
          await auditReversed(tx, app, input.actor, revoked, at);
          const { studentNo, ...record } = change;
          // A 学籍号 contains the ID number: the pupil is named by the masked one (and the case).
          await appendAudit(
            tx,
            {
              actor: input.actor,
              action: 'student.change',
              entityType: 'student',
              entityId: maskStudentNo(studentNo),
              applicationId: app.id,
              details: record,
            },
            at,
          );
        }
        logger.debug(
          {
            applicationId: app.id,
            stage: input.stage,
            decision: input.decision,
            ...(input.override ? { override: true } : {}),
          },
          'decision recorded',
        );
        const state: CaseState = {
          status,
          currentStage,
          currentOrgCode,
          round: input.round,
          version: await bumpVersion(tx, app.id),
          stage: currentStage ? freshStage(deadline) : null,
        };
        return {
          status,
          currentStage,
          currentOrgCode,
          deadline,
          state,
          written: {
            decidedAtMs: at.getTime(),
            nextDueAtMs: deadline?.dueAtMs ?? null,
            nextDueProvisional: deadline?.provisional ?? false,
            schoolCode: change ? change.toSchoolCode : null,
          },
        };
      });
    },

    /**
     * Starts the next round of a returned case: the applicant's corrections, a fresh set of steps for the same chain
     * with the first one open (and due). Earlier rounds' steps stay as they were. Idempotent: a round that already
     * exists is left as it is.
     */
    async startRound(input: StartRoundInput): Promise<DecisionRecord> {
      return prisma.$transaction(async (tx) => {
        const app = await lockCase(tx, input.applicationId);
        if (app.round >= input.round) return { ...outcomeOf(app), deadline: null, state: await stateOf(tx, app) };
        if (app.status !== 'RETURNED' || app.round !== input.round - 1) {
          const refused = app.status === 'IN_REVIEW' ? Rejection.NotReturned : Rejection.CaseClosed;
          return { ...outcomeOf(app), deadline: null, refused, state: await stateOf(tx, app) };
        }
        assertCleanCase(app);
        const at = now();
        const first = input.chain[0];
        const deadline = deadlineOf(await calendarIn(tx), app.type, first.stage, at);
        await tx.applicationStep.createMany({
          data: input.chain.map((s, i) => ({
            applicationId: input.applicationId,
            round: input.round,
            seq: i + 1,
            stage: s.stage,
            orgCode: s.orgCode,
            ...(i === 0
              ? { openedAt: at, dueAt: new Date(deadline.dueAtMs), dueProvisional: deadline.provisional }
              : {}),
          })),
          skipDuplicates: true,
        });
        const c = input.corrections;
        const updated = await tx.application.update({
          where: { id: input.applicationId },
          data: {
            round: input.round,
            status: 'IN_REVIEW',
            currentStage: first.stage,
            currentOrgCode: first.orgCode,
            waitingSince: at,
            ...(c.reason !== undefined ? { reason: c.reason } : {}),
            ...(c.effectiveDate !== undefined ? { effectiveDate: new Date(`${c.effectiveDate}T00:00:00Z`) } : {}),
            ...(c.details !== undefined
              ? { details: (c.details ?? undefined) as Prisma.InputJsonValue | undefined }
              : {}),
          },
        });
        await applyRollup(tx, [{ stage: first.stage, orgCode: first.orgCode, open: 1 }]);
        if (first.orgCode !== app.applicantOrgCode) {
          await outbox.enqueue(tx, app, [
            {
              kind: 'task',
              round: input.round,
              stage: first.stage,
              target: first.orgCode,
              dueAt: new Date(deadline.dueAtMs),
            },
          ]);
        }
        // What the applicant corrected (reason, date, type-specific fields): never ID numbers.
        await audit(tx, app.id, input.actor, 'application.resubmit', { round: input.round, corrections: c }, at);
        logger.debug({ applicationId: app.id, round: input.round }, 'case resubmitted');
        const state: CaseState = {
          ...outcomeOf(updated),
          round: input.round,
          version: await bumpVersion(tx, app.id),
          stage: freshStage(deadline),
        };
        return { ...outcomeOf(updated), deadline, state };
      });
    },

    /** Ends an open case as WITHDRAWN or CANCELLED. Idempotent: a closed case is left as it is. */
    async closeApplication(input: CloseApplicationInput): Promise<Outcome & WriteResult> {
      return prisma.$transaction(async (tx) => {
        const app = await lockCase(tx, input.applicationId);
        if (app.status !== 'IN_REVIEW' && app.status !== 'RETURNED') {
          const state = await stateOf(tx, app);
          return app.status === input.status
            ? { ...outcomeOf(app), state }
            : { ...outcomeOf(app), refused: Rejection.CaseClosed, state };
        }
        assertCleanCase(app);
        const at = now();
        const updated = await tx.application.update({
          where: { id: input.applicationId },
          data: {
            status: input.status,
            currentStage: null,
            currentOrgCode: null,
            waitingSince: null,
            closeReason: input.reason,
            closedById: input.actor.userId,
            closedAt: at,
          },
        });
        if (app.status === 'IN_REVIEW' && app.currentStage && app.currentOrgCode) {
          const [open] = await tx.$queryRaw<{ overdueAt: Date | null }[]>`
            select "overdueAt" from "ApplicationStep"
             where "applicationId" = ${app.id} and round = ${app.round} and stage = ${app.currentStage}::"Stage"`;
          await applyRollup(tx, [
            { stage: app.currentStage, orgCode: app.currentOrgCode, open: -1, overdue: open?.overdueAt ? -1 : 0 },
          ]);
        }
        await outbox.enqueue(tx, app, [
          {
            kind: 'finished',
            round: app.round,
            stage: 'END',
            target: app.applicantOrgCode,
            status: input.status,
            reason: input.reason,
          },
        ]);
        await audit(
          tx,
          app.id,
          input.actor,
          input.status === 'WITHDRAWN' ? 'application.withdraw' : 'application.cancel',
          { reason: input.reason, from: app.status, stage: app.currentStage, round: app.round },
          at,
        );
        logger.debug({ applicationId: app.id, status: input.status }, 'case closed');
        const version = await bumpVersion(tx, app.id);
        return { ...outcomeOf(updated), state: { ...outcomeOf(updated), round: app.round, version, stage: null } };
      });
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
