import { z } from 'zod';
import { arrangementProblems, WorkingCalendar, type YearArrangement } from './calendar';

/*
 * Validation of holiday arrangements from outside (an administrator's upload, a new year's file). Kept apart
 * from calendar.ts so that workflows importing the calendar do not bundle zod; the contradictions themselves
 * are checked by `arrangementProblems`, the same function the WorkingCalendar constructor runs.
 */

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, '日期应为 YYYY-MM-DD');

/** The shape of one year's arrangement, without the contradiction checks (those need the year). */
export const arrangementShape = z.object({
  source: z.string().trim().min(1).optional(),
  holidays: z.array(z.object({ name: z.string().trim().min(1, '节假日名称不能为空'), dates: z.array(isoDate).min(1) })),
  workdays: z.array(isoDate),
});

/** The schema of one year's arrangement, refusing contradictions (see `arrangementProblems`). */
export function yearArrangementSchema(year: number) {
  return arrangementShape.superRefine((arrangement, ctx) => {
    for (const message of arrangementProblems(year, arrangement)) ctx.addIssue({ code: 'custom', message });
  });
}

/** A year's arrangement from untrusted input; throws a ZodError naming each problem. */
export function parseYearArrangement(year: number, input: unknown): YearArrangement {
  return yearArrangementSchema(year).parse(input);
}

const yearKey = z.string().regex(/^\d{4}$/, '年份应为四位数字');

/** The whole file (calendar-data/cn-public-holidays.json): `{ description?, years: { "2025": {…}, … } }`. */
export const holidayFileSchema = z
  .object({ description: z.string().optional(), years: z.record(yearKey, arrangementShape) })
  .superRefine((file, ctx) => {
    for (const [year, arrangement] of Object.entries(file.years)) {
      for (const message of arrangementProblems(Number(year), arrangement)) {
        ctx.addIssue({ code: 'custom', path: ['years', year], message });
      }
    }
  });

/** Load a calendar from an untrusted holiday file; throws a ZodError naming each problem. */
export function calendarFromFile(input: unknown): WorkingCalendar {
  return new WorkingCalendar(holidayFileSchema.parse(input).years);
}

/** Load one more year into a calendar from untrusted input; throws a ZodError naming each problem. */
export function loadYear(calendar: WorkingCalendar, year: number, input: unknown): WorkingCalendar {
  return calendar.withYear(year, parseYearArrangement(year, input));
}
