import path from 'node:path';
import { z } from 'zod';
import { durationMs } from '../config';
import { CN_WORKING_CALENDAR, type WorkingCalendar, type YearArrangement } from '../domain/calendar';
import { parseYearArrangement } from '../domain/calendar-schema';
import { DEFAULT_DEADLINE_POLICY, type DeadlinePolicy } from '../domain/deadlines';
import { CHANGE_TYPES, STAGES } from '../domain/types';
import type { PrismaClient } from './db';
import { readSettingsFile } from './settings-file';

const days = (max: number) => z.number().int().min(1, '至少 1 个工作日').max(max);
const duration = z
  .string()
  .regex(/^\d+(ms|s|m|h|d)$/, '形如 500ms、30s、15m、12h、3d')
  .transform((v) => durationMs(v))
  .refine((v) => v > 0, '必须大于 0');
const perStage = z.partialRecord(z.enum(STAGES), days(100));

const PolicySchema = z
  .object({
    stageWorkingDays: days(100).default(DEFAULT_DEADLINE_POLICY.stageWorkingDays),
    overrides: z.partialRecord(z.enum(CHANGE_TYPES), perStage).default({}),
    reminderEveryWorkingDays: days(30).default(DEFAULT_DEADLINE_POLICY.reminderEveryWorkingDays),
    escalateAfterWorkingDays: days(100).default(DEFAULT_DEADLINE_POLICY.escalateAfterWorkingDays),
    /** Demonstrations only: plain durations instead of working days. */
    stageDue: duration.optional(),
    reminderInterval: duration.optional(),
    escalateAfter: duration.optional(),
  })
  .strict();

export const DEFAULT_DEADLINES_FILE = path.resolve(__dirname, '..', 'settings', 'deadlines.json');

/** Reads the time limits (settings/deadlines.json or DEADLINES_FILE); a bad file stops start-up naming the key. */
export function loadDeadlinePolicy(file: string = DEFAULT_DEADLINES_FILE): DeadlinePolicy {
  const parsed = readSettingsFile(file, PolicySchema, '办理时限文件有误 (invalid deadlines file)');
  const { stageDue, reminderInterval, escalateAfter, ...policy } = parsed;
  return {
    ...policy,
    ...(stageDue !== undefined ? { stageDueMs: stageDue } : {}),
    ...(reminderInterval !== undefined ? { reminderIntervalMs: reminderInterval } : {}),
    ...(escalateAfter !== undefined ? { escalateAfterMs: escalateAfter } : {}),
  };
}

/**
 * The working calendar of the moment: the published years shipped with the code, with every year an administrator
 * loaded (table CalendarYear) on top. Rows were validated when loaded; they are checked again here, so a row edited
 * by hand into nonsense stops the computation with the date named instead of producing wrong due dates.
 */
export async function loadCalendar(prisma: PrismaClient): Promise<WorkingCalendar> {
  const rows = await prisma.calendarYear.findMany({ orderBy: { year: 'asc' } });
  let calendar = CN_WORKING_CALENDAR;
  for (const row of rows) {
    calendar = calendar.withYear(row.year, parseYearArrangement(row.year, row.arrangement) as YearArrangement);
  }
  return calendar;
}
