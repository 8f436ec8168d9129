import type { Pool } from 'pg';
import type { Logger } from 'pino';
import { appendAudit } from '../infra/audit';
import { transaction } from '../infra/sql';
import type { WorkingCalendar } from '../domain/calendar';
import {
  deadlineFor,
  deadlineOnDate,
  nextReminderAt,
  stageDeadline,
  type DeadlinePolicy,
  type StageDeadline,
} from '../domain/deadlines';
import type { Actor, Stage } from '../domain/types';
import { InvariantViolationError } from './errors';
import { assertCleanCase, bumpVersion, lockCase, type LockedCaseWith, type LockedStep, type Tx } from './cases';
import type { CaseState } from '../workflows/messages';
import { TO_ADMINS, type Outbox } from './outbox';
import { applyRollup } from '../infra/rollup';

export { TO_ADMINS };

export interface DeadlineDeps {
  pool: Pool;
  logger: Logger;
  now: () => Date;
  policy: DeadlinePolicy;
  /** The calendar of the moment (published years plus those an administrator loaded), at the version lockCase read. */
  calendarOf: (app: LockedCaseWith) => Promise<WorkingCalendar>;
  outbox: Outbox;
  /**
   * The case as Postgres holds it after a write (what lean workflows adopt); `current` is its current step as it
   * stands now, when the caller has just changed it.
   */
  stateOf: (tx: Tx, app: LockedCaseWith, version?: number, current?: LockedStep) => Promise<CaseState>;
}

export interface StageRef {
  applicationId: number;
  round: number;
  stage: Stage;
}

export interface OpenStageInput extends StageRef {
  /** The workflow's row (id and creation time): set, openStage records on it that its workflow runs. */
  createdAtMs?: number;
}

export interface ChangeDueInput extends StageRef {
  /** A new due date ('YYYY-MM-DD', an extension by an administrator); absent: recompute a provisional one. */
  dueDate?: string;
  reason: string;
  actor: Actor;
}

export type StageEvent = 'overdue' | 'reminder' | 'escalation';

export interface MarkStageInput extends StageRef {
  event: StageEvent;
  /** overdue and reminder: the reminder's number within the stage (the overdue notice is reminder 1). */
  n: number;
  /** An administrator's "remind now"; absent for the workflow's own timers. */
  actor?: Actor;
}

export interface MarkStageResult {
  /** When the workflow's timer should remind next. */
  nextReminderAtMs: number;
  /** escalation: whom the case went to: a county (or, from a city stage, province) bureau's code, or 'ADMIN'. */
  escalatedTo: string | null;
  /** The case afterwards (lean workflows adopt it; older ones ignore it). */
  state?: CaseState;
}

/** Locks the case (see lockCase) and reads one of its steps, with the step's organisation. */
async function lockStep(tx: Tx, ref: StageRef) {
  const app = await lockCase(tx, ref.applicationId, ref.round);
  const step = app.steps.find((s) => s.stage === ref.stage);
  if (!step) throw new InvariantViolationError(`no step ${ref.stage} in round ${ref.round} of ${ref.applicationId}`);
  /** The stage is the case's current one: in review, this round, not decided yet. */
  const current = app.status === 'IN_REVIEW' && app.round === ref.round && !step.decision;
  return { app, step, current };
}

/**
 * The activities behind a stage's time limit. The workflow sees only their results (instants in epoch ms), so which
 * calendar was loaded when a case ran never changes its replay. Each is idempotent: a retry finds its own write and
 * returns the same answer without a second audit entry.
 */
export function createDeadlineActivities({ pool, logger, now, policy, calendarOf, outbox, stateOf }: DeadlineDeps) {
  /** The deadline of a step that has a due time: what the read model says, with the escalation time from policy. */
  const fromRow = (cal: WorkingCalendar, dueAt: Date, provisional: boolean): StageDeadline =>
    deadlineFor(cal, policy, { dueAtMs: dueAt.getTime(), provisional });

  return {
    /**
     * Sets the due time of a stage that has just opened (counted from when it opened) and returns its deadline; tells
     * the holder by mail unless it is the applicant itself. A stage whose due time is set already (the decision that
     * opened it wrote it) only has its deadline read back.
     */
    async openStage(ref: OpenStageInput): Promise<StageDeadline & { state?: CaseState }> {
      return transaction(pool, async (tx) => {
        const { app, step } = await lockStep(tx, ref);
        if (ref.createdAtMs !== undefined) {
          // The workflow runs: recorded here, in a transaction the case needs anyway, rather than by the API — and only
          // on the row it was started for (same id and creation time), never on a later row that reused the id.
          await tx.$executeRaw`update "Application" set "workflowStartedAt" = now() at time zone 'UTC'
                                where id = ${ref.applicationId} and "workflowStartedAt" is null
                                  and "createdAt" = ${new Date(ref.createdAtMs)}`;
        }
        const cal = await calendarOf(app);
        if (step.dueAt) return { ...fromRow(cal, step.dueAt, step.dueProvisional), state: await stateOf(tx, app) };
        assertCleanCase(app);
        const openedAtMs = (step.openedAt ?? now()).getTime();
        const d = stageDeadline(cal, policy, { type: app.type, stage: ref.stage, openedAtMs });
        const dueAt = new Date(d.dueAtMs);
        await tx.$executeRaw`
          update "ApplicationStep" set "dueAt" = ${dueAt}, "dueProvisional" = ${d.provisional} where id = ${step.id}`;
        if (step.orgCode !== app.applicantOrgCode) {
          await outbox.enqueue(tx, app, [
            { kind: 'task', round: ref.round, stage: ref.stage, target: step.orgCode, dueAt: new Date(d.dueAtMs) },
          ]);
        }
        const opened = { ...step, dueAt, dueProvisional: d.provisional };
        return { ...d, state: await stateOf(tx, app, await bumpVersion(tx, app.id), opened) };
      });
    },

    /**
     * An administrator's extension (a new due date, with a reason) or, without a date, the recomputation of a
     * provisional due date once its year's holidays are loaded. Either clears the overdue and escalated marks when
     * the new due time lies ahead. Audited as application.extend / application.due_recomputed.
     */
    async changeDue(input: ChangeDueInput): Promise<StageDeadline & { state?: CaseState }> {
      return transaction(pool, async (tx) => {
        const { app, step } = await lockStep(tx, input);
        const cal = await calendarOf(app);
        const at = now();
        const current = step.dueAt ? fromRow(cal, step.dueAt, step.dueProvisional) : null;
        const next = input.dueDate
          ? deadlineOnDate(cal, policy, input.dueDate)
          : stageDeadline(cal, policy, {
              type: app.type,
              stage: input.stage,
              openedAtMs: (step.openedAt ?? at).getTime(),
            });
        // Recomputing touches only provisional due dates: a final one (or an extension) stays as it is.
        if (!input.dueDate && current && !current.provisional) return { ...current, state: await stateOf(tx, app) };
        if (
          step.decision ||
          (current && current.dueAtMs === next.dueAtMs && current.provisional === next.provisional)
        ) {
          return { ...(current ?? next), state: await stateOf(tx, app) };
        }
        const ahead = next.dueAtMs > at.getTime();
        const dueAt = new Date(next.dueAtMs);
        await tx.$executeRaw`
          update "ApplicationStep" set "dueAt" = ${dueAt}, "dueProvisional" = ${next.provisional},
                 "overdueAt" = case when ${ahead}::boolean then null else "overdueAt" end,
                 "escalatedAt" = case when ${ahead}::boolean then null else "escalatedAt" end,
                 "escalatedTo" = case when ${ahead}::boolean then null else "escalatedTo" end
           where id = ${step.id}`;
        const changed: LockedStep = {
          ...step,
          dueAt,
          dueProvisional: next.provisional,
          ...(ahead ? { overdueAt: null, escalatedAt: null, escalatedTo: null } : {}),
        };
        if (ahead && step.overdueAt) await applyRollup(tx, [{ stage: step.stage, orgCode: step.orgCode, overdue: -1 }]);
        await appendAudit(
          tx,
          {
            actor: input.dueDate ? input.actor : null,
            action: input.dueDate ? 'application.extend' : 'application.due_recomputed',
            entityType: 'application',
            entityId: input.applicationId,
            applicationId: input.applicationId,
            details: {
              round: input.round,
              stage: input.stage,
              orgCode: step.orgCode,
              from: current ? current.dueDate : null,
              to: next.dueDate,
              provisional: next.provisional,
              reason: input.reason,
            },
          },
          at,
        );
        logger.info(
          { applicationId: input.applicationId, stage: input.stage, from: current?.dueDate, to: next.dueDate },
          input.dueDate ? 'due date extended' : 'due date recomputed',
        );
        return { ...next, state: await stateOf(tx, app, await bumpVersion(tx, app.id), changed) };
      });
    },

    /** Records what a stage's timer (or an administrator) did: overdue, one more reminder, escalation. */
    async markStage(input: MarkStageInput): Promise<MarkStageResult> {
      return transaction(pool, async (tx) => {
        const { app, step, current } = await lockStep(tx, input);
        const cal = await calendarOf(app);
        const at = now();
        const result: MarkStageResult = {
          nextReminderAtMs: nextReminderAt(cal, policy, at.getTime()),
          escalatedTo: null,
        };
        // Decided (or the case closed) meanwhile: a timer that fired just before is a no-op.
        if (!current) return { ...result, state: await stateOf(tx, app) };
        assertCleanCase(app);
        const dueAt = step.dueAt ?? at;
        const audit = (action: string, details: Record<string, unknown>) =>
          appendAudit(
            tx,
            {
              actor: input.actor ?? null,
              action,
              entityType: 'application',
              entityId: input.applicationId,
              applicationId: input.applicationId,
              details: { round: input.round, stage: input.stage, orgCode: step.orgCode, ...details },
            },
            at,
          );

        if (input.event === 'escalation') {
          // A school's stage goes to its county bureau, a city bureau's (an added review level) to its province's;
          // a county's or a province's to the administrators.
          const up = step.orgKind === 'SCHOOL' || step.orgKind === 'CITY';
          const to = up && step.orgParentCode ? step.orgParentCode : TO_ADMINS;
          result.escalatedTo = step.escalatedTo ?? to;
          if (step.escalatedAt) return { ...result, state: await stateOf(tx, app) };
          await tx.$executeRaw`
            update "ApplicationStep" set "escalatedAt" = ${at}, "escalatedTo" = ${to} where id = ${step.id}`;
          await outbox.enqueue(tx, app, [
            {
              kind: 'escalation',
              round: input.round,
              stage: input.stage,
              n: input.n,
              target: to,
              dueAt,
              holderOrgCode: step.orgCode,
            },
          ]);
          await audit('application.escalate', { to, dueAt: step.dueAt?.toISOString() ?? null });
          logger.warn({ applicationId: input.applicationId, stage: input.stage, to }, 'case escalated');
          const escalated = { ...step, escalatedAt: at, escalatedTo: to };
          return { ...result, state: await stateOf(tx, app, await bumpVersion(tx, app.id), escalated) };
        }

        if (step.remindersSent >= input.n) return { ...result, state: await stateOf(tx, app) };
        const nowOverdue = input.event === 'overdue' && !step.overdueAt;
        await tx.$executeRaw`
          update "ApplicationStep" set "remindersSent" = ${input.n}::int, "lastRemindedAt" = ${at},
                 "overdueAt" = case when ${nowOverdue}::boolean then ${at}::timestamp(3) else "overdueAt" end
           where id = ${step.id}`;
        const reminded = {
          ...step,
          remindersSent: input.n,
          lastRemindedAt: at,
          ...(nowOverdue ? { overdueAt: at } : {}),
        };
        if (nowOverdue) await applyRollup(tx, [{ stage: step.stage, orgCode: step.orgCode, overdue: 1 }]);
        await outbox.enqueue(tx, app, [
          { kind: 'reminder', round: input.round, stage: input.stage, n: input.n, target: step.orgCode, dueAt },
        ]);
        await audit(input.event === 'overdue' ? 'application.overdue' : 'application.remind', {
          n: input.n,
          dueAt: step.dueAt?.toISOString() ?? null,
          by: input.actor ? 'admin' : 'timer',
        });
        logger.info({ applicationId: input.applicationId, stage: input.stage, n: input.n }, `stage ${input.event}`);
        return { ...result, state: await stateOf(tx, app, await bumpVersion(tx, app.id), reminded) };
      });
    },
  };
}
