import { endOfShanghaiDay, shanghaiDate, type WorkingCalendar } from './calendar';
import type { ChangeType, Stage } from './types';

/**
 * Time limits per stage (办理时限), the reminders (催办) after a stage passes its due time and the escalation
 * (超期上报) past a second threshold. Settings, not code: settings/deadlines.json (or DEADLINES_FILE), checked by
 * infra/deadlines.ts. Everything is counted in working days on the China calendar; the `…Ms` fields replace the
 * working-day counts with plain milliseconds, for tests and demonstrations only.
 *
 * Pure: the activities call these with the calendar of the moment; the workflow only ever sees the resulting
 * instants (from activity results), so a replay never depends on which calendar is loaded today.
 */
export interface DeadlinePolicy {
  /** Working days each organisation has for its stage: 10, as the national rules give. */
  stageWorkingDays: number;
  /** Per change type and stage, e.g. { "TRANSFER": { "RECEIVING_SCHOOL": 5 } }. */
  overrides: Partial<Record<ChangeType, Partial<Record<Stage, number>>>>;
  /** After the due time, the holder is reminded again every this many working days (at 09:00 in China). */
  reminderEveryWorkingDays: number;
  /** This many working days after the due date, the case is escalated (to the county bureau or the administrators). */
  escalateAfterWorkingDays: number;
  /** Tests only: the stage is due this many milliseconds after it opens. */
  stageDueMs?: number;
  /** Tests only: reminders every this many milliseconds. */
  reminderIntervalMs?: number;
  /** Tests only: escalation this many milliseconds after the due time. */
  escalateAfterMs?: number;
}

export const DEFAULT_DEADLINE_POLICY: DeadlinePolicy = {
  stageWorkingDays: 10,
  overrides: {},
  reminderEveryWorkingDays: 2,
  escalateAfterWorkingDays: 5,
};

/** What the workflow needs to run a stage's timers, and what the read model shows. */
export interface StageDeadline {
  /** The due calendar date in China ('YYYY-MM-DD'); the stage is due by the end of it. */
  dueDate: string;
  dueAtMs: number;
  /** Counted Monday–Friday over a year not loaded yet: recomputed when the year is loaded. */
  provisional: boolean;
  /** When the case escalates if still undecided. */
  escalateAtMs: number;
}

const HOUR_MS = 3_600_000;
/** Reminders after the first go out at 09:00 China time. */
const REMINDER_HOUR = 9;

export function stageWorkingDays(policy: DeadlinePolicy, type: ChangeType, stage: Stage): number {
  return policy.overrides[type]?.[stage] ?? policy.stageWorkingDays;
}

/** The escalation time for a stage due at `dueAtMs` on `dueDate`. */
function escalateAt(
  calendar: WorkingCalendar,
  policy: DeadlinePolicy,
  due: { dueDate: string; dueAtMs: number },
): { atMs: number; provisional: boolean } {
  if (policy.escalateAfterMs !== undefined) return { atMs: due.dueAtMs + policy.escalateAfterMs, provisional: false };
  const d = calendar.addWorkingDays(due.dueDate, policy.escalateAfterWorkingDays);
  return { atMs: d.dueAtMs, provisional: d.provisional };
}

/** The deadline of a stage opened at `openedAtMs`. */
export function stageDeadline(
  calendar: WorkingCalendar,
  policy: DeadlinePolicy,
  stage: { type: ChangeType; stage: Stage; openedAtMs: number },
): StageDeadline {
  if (policy.stageDueMs !== undefined) {
    const dueAtMs = stage.openedAtMs + policy.stageDueMs;
    return deadlineFor(calendar, policy, { dueAtMs, provisional: false });
  }
  const d = calendar.dueFrom(stage.openedAtMs, stageWorkingDays(policy, stage.type, stage.stage));
  return deadlineFor(calendar, policy, { dueAtMs: d.dueAtMs, provisional: d.provisional });
}

/** The deadline when an administrator sets the due date by hand (an extension): the end of that day in China. */
export function deadlineOnDate(calendar: WorkingCalendar, policy: DeadlinePolicy, dueDate: string): StageDeadline {
  return deadlineFor(calendar, policy, { dueAtMs: endOfShanghaiDay(dueDate), provisional: false });
}

/** The whole deadline of a known due time (e.g. one read back from the database): its date and escalation. */
export function deadlineFor(
  calendar: WorkingCalendar,
  policy: DeadlinePolicy,
  due: { dueAtMs: number; provisional: boolean },
): StageDeadline {
  const dueDate = shanghaiDate(due.dueAtMs);
  const e = escalateAt(calendar, policy, { dueDate, dueAtMs: due.dueAtMs });
  return { dueDate, dueAtMs: due.dueAtMs, provisional: due.provisional || e.provisional, escalateAtMs: e.atMs };
}

/** When to remind again after a reminder at `afterMs`: 09:00 China time, the configured working days later. */
export function nextReminderAt(calendar: WorkingCalendar, policy: DeadlinePolicy, afterMs: number): number {
  if (policy.reminderIntervalMs !== undefined) return afterMs + policy.reminderIntervalMs;
  const day = calendar.dueFrom(afterMs, policy.reminderEveryWorkingDays).date;
  const startOfDay = endOfShanghaiDay(day) + 1 - 24 * HOUR_MS;
  return startOfDay + REMINDER_HOUR * HOUR_MS;
}
