import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { PrismaClient } from '../infra/db';
import { appendAudits, type AuditInput } from '../infra/audit';
import { poolOf, transaction } from '../infra/sql';
import type { ChainStep } from '../domain/chain';
import type { Actor, ApplicationStatus, ChangeType, Decision, Stage, StudentStatus } from '../domain/types';
import { maskStudentNo } from '../domain/id-number';
import { recordAfter, reversalPatch, type HistoryValues, type PupilRecord } from '../domain/change-types';
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
import { assertCleanCase, lockCase, type LockedCase, type LockedCaseWith, type LockedStep, type Tx } from './cases';

export interface ActivityDeps {
  /** Reads the calendar when it changed; its pg pool (infra/sql.ts) carries the writes' transactions. */
  prisma: PrismaClient;
  /** Default: the pool beneath `prisma` (one pool per process). */
  pool?: Pool;
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
  // The history line is written only under the case's row lock, which this transaction holds: reading it in the
  // statement that locks the pupil sees every line there is.
  const [pupil] = await tx.$queryRaw<
    { studentNo: string; schoolCode: string; status: StudentStatus; grade: number; already: boolean }[]
  >`select "studentNo", "schoolCode", status::text as status, grade,
           exists(select 1 from "StudentHistory" where "applicationId" = ${app.id}::int) as already
      from "Student" where "studentNo" = ${app.studentNo} for update`;
  if (pupil.already) return null;
  // What the approval does to the record is the change type's own (domain/change-types/); a reversal (纠错) puts back
  // the fields the original changed, as its history line recorded them before the change.
  let after: PupilRecord;
  try {
    if (app.reversesId === null) {
      after = recordAfter(app.type, pupil, app);
    } else {
      const [line] = await tx.$queryRaw<HistoryValues[]>`
        select "fromSchoolCode", "toSchoolCode", "fromStatus"::text as "fromStatus", "toStatus"::text as "toStatus",
               "fromGrade", "toGrade"
          from "StudentHistory" where "applicationId" = ${app.reversesId}::int`;
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
  // The record and its history line in one statement.
  await tx.$executeRaw`
    with moved as (
      update "Student" set "schoolCode" = ${toSchoolCode}, status = ${toStatus}::"StudentStatus", grade = ${toGrade}::int,
             "updatedAt" = ${new Date()}
       where "studentNo" = ${change.studentNo})
    insert into "StudentHistory" ("studentNo", type, "fromSchoolCode", "toSchoolCode", "fromStatus", "toStatus",
                                  "fromGrade", "toGrade", "applicationId", "effectiveDate", "approvedBy", "createdAt",
                                  "reversesApplicationId")
    values (${change.studentNo}, ${change.type}, ${change.fromSchoolCode}, ${toSchoolCode},
            ${change.fromStatus}::"StudentStatus", ${toStatus}::"StudentStatus", ${change.fromGrade}::int,
            ${toGrade}::int, ${app.id}::int, ${app.effectiveDate}::date, ${approvedBy}::text[], ${at},
            ${change.reverses ?? null}::int)`;
  return change;
}

/**
 * An approved reversal revokes every document still standing that was printed for the case it reversed (the public
 * verification page says so from then on). Returns what it revoked, for the audit entries written after.
 */
async function revokeReversedDocuments(tx: Tx, app: LockedCase, actor: Actor, at: Date) {
  if (app.reversesId === null) return [];
  const reason = `该业务已纠错（纠错业务编号 ${app.id}）`;
  const docs = await tx.$queryRaw<{ id: number; ref: string; kind: string }[]>`
    update "IssuedDocument" set "revokedAt" = ${at}, "revokedById" = ${actor.userId}::int, "revokeReason" = ${reason}
     where "applicationId" = ${app.reversesId}::int and "revokedAt" is null
    returning id, ref, kind::text as kind`;
  return docs.sort((a, b) => a.id - b.id).map((d) => ({ ref: d.ref, kind: d.kind, reason }));
}

/** The audit entries of an approved reversal on the case it reversed: that it was, and each document it revoked. */
function auditReversed(
  app: LockedCase,
  actor: Actor,
  revoked: Awaited<ReturnType<typeof revokeReversedDocuments>>,
): AuditInput[] {
  if (app.reversesId === null) return [];
  const original = app.reversesId;
  return [
    {
      actor,
      action: 'application.reversed',
      entityType: 'application',
      entityId: original,
      applicationId: original,
      details: { reversal: app.id },
    },
    ...revoked.map((doc) => ({
      actor,
      action: 'document.revoke',
      entityType: 'document',
      entityId: doc.ref,
      applicationId: original,
      details: { kind: doc.kind, reason: doc.reason, reversal: app.id },
    })),
  ];
}

/** Activities are built with their dependencies so the worker injects real ones and tests inject their own. */
export function createActivities({
  prisma,
  pool = poolOf(prisma),
  logger,
  deadlines = DEFAULT_DEADLINE_POLICY,
  calendar = () => loadCalendar(prisma),
  appUrl,
  now = () => new Date(),
}: ActivityDeps) {
  const directory = new MailDirectory();
  const outbox = createOutbox({ logger, directory, appUrl });

  // The working calendar changes a few times a year (an administrator loads a year): kept in memory and checked
  // against the table's version, which lockCase reads with the case inside each transaction, so it is never stale
  // and rarely reloaded.
  let cached: { version: string; calendar: WorkingCalendar } | null = null;
  const calendarOf = async (app: Pick<LockedCaseWith, 'calendarVersion'>): Promise<WorkingCalendar> => {
    if (cached?.version !== app.calendarVersion) cached = { version: app.calendarVersion, calendar: await calendar() };
    return cached.calendar;
  };
  const deadlineOf = (cal: WorkingCalendar, type: ChangeType, stage: Stage, at: Date) =>
    stageDeadline(cal, deadlines, { type, stage, openedAtMs: at.getTime() });

  /**
   * The case as Postgres holds it now, with its current stage's time limit and timers (for lean workflows). The
   * current step is `current` when the caller has just changed it (one of `app.steps`), else the one lockCase read,
   * when it read the case's round; else it is read here.
   */
  const stateOf = async (
    tx: Tx,
    app: LockedCaseWith,
    version = app.version,
    current?: LockedStep,
  ): Promise<CaseState> => {
    const base = { ...outcomeOf(app), round: app.round, version };
    if (app.status !== 'IN_REVIEW' || !app.currentStage) return { ...base, stage: null };
    // `current` and the steps lockCase read are of round `stepsRound`: of use only when that is the case's round.
    const known =
      app.stepsRound === app.round ? [current, ...app.steps].find((s) => s?.stage === app.currentStage) : undefined;
    const [step] = known
      ? [known]
      : await tx.$queryRaw<
          Pick<
            LockedStep,
            'dueAt' | 'dueProvisional' | 'overdueAt' | 'remindersSent' | 'lastRemindedAt' | 'escalatedAt'
          >[]
        >`select "dueAt", "dueProvisional", "overdueAt", "remindersSent", "lastRemindedAt", "escalatedAt"
            from "ApplicationStep"
           where "applicationId" = ${app.id}::int and round = ${app.round}::int and stage = ${app.currentStage}::"Stage"`;
    const cal = step?.dueAt ? await calendarOf(app) : null;
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

  const caseEvent = (
    applicationId: number,
    actor: Actor | null,
    action: string,
    details: Record<string, unknown>,
  ): AuditInput => ({ actor, action, entityType: 'application', entityId: applicationId, applicationId, details });

  return {
    ...createDeadlineActivities({ pool, logger, now, policy: deadlines, calendarOf, outbox, stateOf }),
    ...createNotifyActivities({ pool, outbox }),

    /** The case as Postgres holds it (a lean workflow's sync). Reads only. */
    async readCase(input: { applicationId: number }): Promise<CaseState> {
      return transaction(pool, async (tx) => stateOf(tx, await lockCase(tx, input.applicationId)));
    },

    /**
     * Writes one decision in one transaction: the step, the next stage (opened now, with its due time), the case's
     * state, for the final approval the change to the pupil's record, the statistics, the mails it causes and the
     * audit entries. Idempotent: a retry finds the step decided and writes nothing. A case that is no longer in
     * review at this round (withdrawn, cancelled, resubmitted meanwhile) is left as it is, so a retried approval can
     * never open a stage of a closed case.
     */
    async recordDecision(input: RecordDecisionInput): Promise<DecisionRecord> {
      return transaction(pool, async (tx) => {
        const app = await lockCase(tx, input.applicationId, input.round);
        const steps = app.steps;
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
        // Due from now, so the answer to the decision already shows it.
        const deadline = input.next ? deadlineOf(await calendarOf(app), app.type, input.next.stage, at) : null;
        // The step, the next one and the case in one statement, which counts the write (Application.version).
        let status: ApplicationStatus = app.status;
        let currentStage: Stage | null = null;
        let currentOrgCode: string | null = null;
        let written: { version: number }[];
        if (input.next && deadline) {
          currentStage = input.next.stage;
          currentOrgCode = input.next.orgCode;
          written = await tx.$queryRaw<{ version: number }[]>`
            with decided as (
              update "ApplicationStep" set decision = ${input.decision}::"Decision", comment = ${input.comment},
                     "actorId" = ${input.actor.userId}::int, "actorName" = ${input.actor.displayName}, "decidedAt" = ${at}
               where id = ${step.id}::int),
            opened as (
              update "ApplicationStep" set "openedAt" = ${at}, "dueAt" = ${new Date(deadline.dueAtMs)},
                     "dueProvisional" = ${deadline.provisional}::boolean
               where "applicationId" = ${app.id}::int and round = ${input.round}::int
                 and stage = ${currentStage}::"Stage")
            update "Application" set "currentStage" = ${currentStage}::"Stage", "currentOrgCode" = ${currentOrgCode},
                   "waitingSince" = ${at}, "updatedAt" = ${at}, version = version + 1
             where id = ${app.id}::int
            returning version`;
        } else if (input.finalStatus === 'RETURNED') {
          // Back to the applicant school to correct and resubmit: it holds the case, at no stage.
          status = 'RETURNED';
          currentOrgCode = app.applicantOrgCode;
          written = await tx.$queryRaw<{ version: number }[]>`
            with decided as (
              update "ApplicationStep" set decision = ${input.decision}::"Decision", comment = ${input.comment},
                     "actorId" = ${input.actor.userId}::int, "actorName" = ${input.actor.displayName}, "decidedAt" = ${at}
               where id = ${step.id}::int)
            update "Application" set status = 'RETURNED', "currentStage" = null, "currentOrgCode" = ${currentOrgCode},
                   "waitingSince" = ${at}, "updatedAt" = ${at}, version = version + 1
             where id = ${app.id}::int
            returning version`;
        } else {
          status = input.finalStatus ?? app.status;
          written = await tx.$queryRaw<{ version: number }[]>`
            with decided as (
              update "ApplicationStep" set decision = ${input.decision}::"Decision", comment = ${input.comment},
                     "actorId" = ${input.actor.userId}::int, "actorName" = ${input.actor.displayName}, "decidedAt" = ${at}
               where id = ${step.id}::int)
            update "Application" set status = ${status}::"ApplicationStatus", "currentStage" = null,
                   "currentOrgCode" = null, "waitingSince" = null, "closedAt" = ${at}, "updatedAt" = ${at},
                   version = version + 1
             where id = ${app.id}::int
            returning version`;
        }

        let change: Awaited<ReturnType<typeof applyChange>> | null = null;
        if (input.finalStatus === 'APPROVED') {
          // One after the other: a transaction's connection runs one query at a time (pg deprecates queueing them).
          const names: string[] = [];
          for (const s of steps) names.push(await directory.nameOf(tx, s.orgCode));
          change = await applyChange(tx, app, names, at);
        }
        const revoked = change ? await revokeReversedDocuments(tx, app, input.actor, at) : [];

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

        const events: AuditInput[] = [
          caseEvent(app.id, input.actor, input.override ? 'application.override' : 'application.decide', {
            round: input.round,
            stage: input.stage,
            orgCode: step.orgCode,
            decision: input.decision,
            comment: input.comment,
            ...(input.override ? { reason: input.override.reason } : {}),
            status,
            nextStage: input.next?.stage ?? null,
          }),
        ];
        if (input.finalStatus === 'APPROVED') {
          events.push(caseEvent(app.id, input.actor, 'application.approved', { round: input.round, type: app.type }));
        } else if (input.finalStatus === 'REJECTED') {
          events.push(
            caseEvent(app.id, input.actor, 'application.rejected', {
              round: input.round,
              stage: input.stage,
              comment: input.comment,
            }),
          );
        } else if (input.finalStatus === 'RETURNED') {
          events.push(
            caseEvent(app.id, input.actor, 'application.return', {
              round: input.round,
              stage: input.stage,
              comment: input.comment,
              to: app.applicantOrgCode,
            }),
          );
        }
        if (change) {
          events.push(...auditReversed(app, input.actor, revoked));
          const { studentNo, ...record } = change;
          // A 学籍号 contains the ID number: the pupil is named by the masked one (and the case).
          events.push({
            actor: input.actor,
            action: 'student.change',
            entityType: 'student',
            entityId: maskStudentNo(studentNo),
            applicationId: app.id,
            details: record,
          });
        }
        // Last in the transaction: the audit chain's lock is then held only for the appends.
        await appendAudits(
          tx,
          events.map((e) => ({ e, at })),
        );
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
          version: written[0].version,
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
      return transaction(pool, async (tx) => {
        const app = await lockCase(tx, input.applicationId);
        if (app.round >= input.round) return { ...outcomeOf(app), deadline: null, state: await stateOf(tx, app) };
        if (app.status !== 'RETURNED' || app.round !== input.round - 1) {
          const refused = app.status === 'IN_REVIEW' ? Rejection.NotReturned : Rejection.CaseClosed;
          return { ...outcomeOf(app), deadline: null, refused, state: await stateOf(tx, app) };
        }
        assertCleanCase(app);
        const at = now();
        const first = input.chain[0];
        const deadline = deadlineOf(await calendarOf(app), app.type, first.stage, at);
        const steps = input.chain.map((s, i) => ({
          seq: i + 1,
          stage: s.stage,
          orgCode: s.orgCode,
          ...(i === 0
            ? {
                openedAt: at.toISOString(),
                dueAt: new Date(deadline.dueAtMs).toISOString(),
                dueProvisional: deadline.provisional,
              }
            : {}),
        }));
        const c = input.corrections;
        // The new round's steps and the case (with the applicant's corrections) in one statement.
        const [updated] = await tx.$queryRaw<{ version: number }[]>`
          with added as (
            insert into "ApplicationStep" ("applicationId", round, seq, stage, "orgCode", "openedAt", "dueAt",
                                           "dueProvisional")
            select ${app.id}::int, ${input.round}::int, s.seq, s.stage::"Stage", s."orgCode", s."openedAt"::timestamp(3),
                   s."dueAt"::timestamp(3), coalesce(s."dueProvisional", false)
              from jsonb_to_recordset(${JSON.stringify(steps)}::jsonb)
                   as s(seq int, stage text, "orgCode" text, "openedAt" text, "dueAt" text, "dueProvisional" boolean)
            on conflict do nothing)
          update "Application" set round = ${input.round}::int, status = 'IN_REVIEW',
                 "currentStage" = ${first.stage}::"Stage", "currentOrgCode" = ${first.orgCode}, "waitingSince" = ${at},
                 reason = coalesce(${c.reason ?? null}::text, reason),
                 "effectiveDate" = coalesce(${c.effectiveDate ?? null}::date, "effectiveDate"),
                 details = coalesce(${c.details == null ? null : JSON.stringify(c.details)}::jsonb, details),
                 "updatedAt" = ${new Date()}, version = version + 1
           where id = ${app.id}::int
          returning version`;
        const after = { status: 'IN_REVIEW' as const, currentStage: first.stage, currentOrgCode: first.orgCode };
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
        await appendAudits(tx, [
          { e: caseEvent(app.id, input.actor, 'application.resubmit', { round: input.round, corrections: c }), at },
        ]);
        logger.debug({ applicationId: app.id, round: input.round }, 'case resubmitted');
        const state: CaseState = {
          ...after,
          round: input.round,
          version: updated.version,
          stage: freshStage(deadline),
        };
        return { ...after, deadline, state };
      });
    },

    /** Ends an open case as WITHDRAWN or CANCELLED. Idempotent: a closed case is left as it is. */
    async closeApplication(input: CloseApplicationInput): Promise<Outcome & WriteResult> {
      return transaction(pool, async (tx) => {
        const app = await lockCase(tx, input.applicationId);
        if (app.status !== 'IN_REVIEW' && app.status !== 'RETURNED') {
          const state = await stateOf(tx, app);
          return app.status === input.status
            ? { ...outcomeOf(app), state }
            : { ...outcomeOf(app), refused: Rejection.CaseClosed, state };
        }
        assertCleanCase(app);
        const at = now();
        const [updated] = await tx.$queryRaw<{ version: number }[]>`
          update "Application" set status = ${input.status}::"ApplicationStatus", "currentStage" = null,
                 "currentOrgCode" = null, "waitingSince" = null, "closeReason" = ${input.reason},
                 "closedById" = ${input.actor.userId}::int, "closedAt" = ${at}, "updatedAt" = ${new Date()},
                 version = version + 1
           where id = ${app.id}::int
          returning version`;
        const after = { status: input.status, currentStage: null, currentOrgCode: null };
        if (app.status === 'IN_REVIEW' && app.currentStage && app.currentOrgCode) {
          // lockCase read the case's own round.
          const open = app.steps.find((s) => s.stage === app.currentStage);
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
        await appendAudits(tx, [
          {
            e: caseEvent(
              app.id,
              input.actor,
              input.status === 'WITHDRAWN' ? 'application.withdraw' : 'application.cancel',
              {
                reason: input.reason,
                from: app.status,
                stage: app.currentStage,
                round: app.round,
              },
            ),
            at,
          },
        ]);
        logger.debug({ applicationId: app.id, status: input.status }, 'case closed');
        return { ...after, state: { ...after, round: app.round, version: updated.version, stage: null } };
      });
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
