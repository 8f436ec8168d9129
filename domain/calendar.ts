import cnPublicHolidays from './calendar-data/cn-public-holidays.json';

/**
 * Working days in mainland China (工作日): Monday–Friday, minus the public holidays (法定节假日) and plus
 * the make-up working days (调休上班) that the State Council announces each year. The arrangements are data
 * (calendar-data/cn-public-holidays.json), not code: a new year is a new entry, checked by
 * `arrangementProblems` here and by the zod schema in calendar-schema.ts.
 *
 * Pure and deterministic — no Node built-ins, no Intl, no clock — so workflows may import it.
 *
 * Conventions:
 * - A calendar date is an ISO string 'YYYY-MM-DD' in China (Asia/Shanghai, UTC+8 all year: no daylight
 *   saving since 1991, so no time-zone database is needed).
 * - Counting: the day of filing does not count. `addWorkingDays(start, n)` is the n-th working day after
 *   `start`; `addWorkingDays(start, 0)` is `start` itself (due by the end of the filing day).
 * - The deadline is the end of that day, 23:59:59.999 Asia/Shanghai (= 15:59:59.999Z), as epoch
 *   milliseconds in `dueAtMs`, ready for `condition(fn, due.dueAtMs - Date.now())` in a workflow.
 * - A year that is not loaded counts Monday–Friday, and any result whose span reaches into such a year
 *   says `provisional: true` — a case never fails because the calendar is incomplete; callers mark the
 *   due date and recompute it once the year's arrangement is loaded.
 */

export interface HolidayArrangement {
  /** e.g. 春节, 国庆节、中秋节 */
  name: string;
  /** Every rest day of the holiday, weekend days included, as 'YYYY-MM-DD'. */
  dates: readonly string[];
}

/** One year's arrangement, as in the State Council notice (国务院办公厅关于XXXX年部分节假日安排的通知). */
export interface YearArrangement {
  source?: string;
  holidays: readonly HolidayArrangement[];
  /** Saturdays and Sundays worked (调休上班), as 'YYYY-MM-DD'. */
  workdays: readonly string[];
}

export interface DueDate {
  /** The due calendar date in China, 'YYYY-MM-DD'. */
  date: string;
  /** End of that day, 23:59:59.999 Asia/Shanghai, in epoch milliseconds. */
  dueAtMs: number;
  /** True when the span from the start to the due date reaches a year whose arrangement is not loaded. */
  provisional: boolean;
}

const DAY_MS = 86_400_000;
/** Asia/Shanghai is UTC+8 all year. */
const SHANGHAI_OFFSET_MS = 8 * 3_600_000;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Days since 1970-01-01 for a valid ISO date, or undefined for anything else (2025-02-30, '2025-1-1' …). */
function tryDayNumber(date: string): number | undefined {
  const m = ISO_DATE.exec(date);
  if (!m) return undefined;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const ms = Date.UTC(y, mo - 1, d);
  const back = new Date(ms);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) return undefined;
  return ms / DAY_MS;
}

function dayNumber(date: string): number {
  const n = tryDayNumber(date);
  if (n === undefined) throw new RangeError(`不是有效的日期（应为 YYYY-MM-DD）：${date}`);
  return n;
}

function isoDate(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

function yearOf(day: number): number {
  return new Date(day * DAY_MS).getUTCFullYear();
}

/** 0 = Sunday … 6 = Saturday; 1970-01-01 was a Thursday. */
function weekday(day: number): number {
  return (((day + 4) % 7) + 7) % 7;
}

const isWeekend = (day: number): boolean => weekday(day) === 0 || weekday(day) === 6;

/** The calendar date in China at an instant (epoch milliseconds, e.g. `Date.now()`). */
export function shanghaiDate(epochMs: number): string {
  return isoDate(Math.floor((epochMs + SHANGHAI_OFFSET_MS) / DAY_MS));
}

/** End of a China calendar date, 23:59:59.999 Asia/Shanghai, in epoch milliseconds. */
export function endOfShanghaiDay(date: string): number {
  return (dayNumber(date) + 1) * DAY_MS - SHANGHAI_OFFSET_MS - 1;
}

/**
 * What is wrong with one year's arrangement, in Chinese, naming the date; empty when it can be loaded.
 * Refuses dates that are not real dates or lie outside the year, a date that is both a holiday and a
 * make-up working day, and a make-up working day that is not a Saturday or Sunday.
 */
export function arrangementProblems(year: number, arrangement: YearArrangement): string[] {
  const problems: string[] = [];
  if (!Number.isInteger(year) || year < 1949 || year > 9999) return [`年份无效：${year}`];
  const check = (date: string, what: string): number | undefined => {
    const day = tryDayNumber(date);
    if (day === undefined) problems.push(`${what} ${date} 不是有效的日期（应为 YYYY-MM-DD）`);
    else if (yearOf(day) !== year) problems.push(`${what} ${date} 不在 ${year} 年内`);
    else return day;
    return undefined;
  };
  const holidays = new Set<number>();
  for (const holiday of arrangement.holidays) {
    for (const date of holiday.dates) {
      const day = check(date, `节假日「${holiday.name}」的日期`);
      if (day !== undefined) holidays.add(day);
    }
  }
  for (const date of arrangement.workdays) {
    const day = check(date, '调休上班日');
    if (day === undefined) continue;
    if (holidays.has(day)) problems.push(`${date} 既是节假日又是调休上班日`);
    if (!isWeekend(day)) problems.push(`调休上班日 ${date} 不是周六或周日`);
  }
  return problems;
}

/** Thrown when an arrangement contradicts itself; `problems` names each date. */
export class CalendarDataError extends Error {
  constructor(readonly problems: string[]) {
    super(`节假日安排有误：${problems.join('；')}`);
    this.name = 'CalendarDataError';
  }
}

interface LoadedYear {
  holidays: ReadonlySet<number>;
  workdays: ReadonlySet<number>;
}

export class WorkingCalendar {
  private readonly years: ReadonlyMap<number, LoadedYear>;

  /** Throws CalendarDataError when any year's arrangement contradicts itself. */
  constructor(private readonly arrangements: Readonly<Record<string, YearArrangement>> = {}) {
    const years = new Map<number, LoadedYear>();
    const problems: string[] = [];
    for (const [key, arrangement] of Object.entries(arrangements)) {
      const year = Number(key);
      const found = arrangementProblems(year, arrangement);
      if (found.length > 0) {
        problems.push(...found);
        continue;
      }
      years.set(year, {
        holidays: new Set(arrangement.holidays.flatMap((h) => h.dates.map(dayNumber))),
        workdays: new Set(arrangement.workdays.map(dayNumber)),
      });
    }
    if (problems.length > 0) throw new CalendarDataError(problems);
    this.years = years;
  }

  /** The years whose arrangement is loaded, ascending. */
  get loadedYears(): number[] {
    return [...this.years.keys()].sort((a, b) => a - b);
  }

  /**
   * A new calendar with `year` loaded (or replaced — the State Council has amended a year before, as with
   * the longer Spring Festival of 2020). Validate untrusted input with `parseYearArrangement` first.
   */
  withYear(year: number, arrangement: YearArrangement): WorkingCalendar {
    return new WorkingCalendar({ ...this.arrangements, [year]: arrangement });
  }

  isLoaded(year: number): boolean {
    return this.years.has(year);
  }

  isWorkingDay(date: string): boolean {
    return this.isWorkingDayNumber(dayNumber(date));
  }

  /**
   * The due date `n` working days after `start` (the filing day does not count; n = 0 is `start`).
   * `start` may be any day, working or not.
   */
  addWorkingDays(start: string, n: number): DueDate {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`工作日数应为非负整数：${n}`);
    let day = dayNumber(start);
    let provisional = false;
    for (let left = n; left > 0;) {
      day += 1;
      if (!this.years.has(yearOf(day))) provisional = true;
      if (this.isWorkingDayNumber(day)) left -= 1;
    }
    const date = isoDate(day);
    return { date, dueAtMs: endOfShanghaiDay(date), provisional };
  }

  /** For a workflow: the due date `n` working days after the China calendar date of `nowMs` (`Date.now()`). */
  dueFrom(nowMs: number, n: number): DueDate {
    return this.addWorkingDays(shanghaiDate(nowMs), n);
  }

  /**
   * The working days after `a` up to and including `b` — so `workingDaysBetween(s, addWorkingDays(s, n).date)`
   * is `n`; negative when `b` is before `a`. Years not loaded count Monday–Friday.
   */
  workingDaysBetween(a: string, b: string): number {
    const from = dayNumber(a);
    const to = dayNumber(b);
    if (to < from) return -this.workingDaysBetween(b, a);
    const [yf, yt] = [yearOf(from), yearOf(to)];
    let count = this.throughDay(to) - this.throughDay(from);
    for (let y = yf; y < yt; y += 1) count += this.throughDay(Date.UTC(y, 11, 31) / DAY_MS);
    return count;
  }

  /**
   * Per year, the working days from 1 January through each of its days (built on first use; a calendar never
   * changes, `withYear` makes a new one): a count of working days between two dates costs two lookups and one
   * addition per year boundary, not a step per day — the predicted completion counts one for every open case listed.
   */
  private readonly counts = new Map<number, { first: number; through: Int32Array }>();

  private yearCounts(year: number) {
    let c = this.counts.get(year);
    if (!c) {
      const first = Date.UTC(year, 0, 1) / DAY_MS;
      const through = new Int32Array(Date.UTC(year + 1, 0, 1) / DAY_MS - first);
      let n = 0;
      for (let i = 0; i < through.length; i += 1) {
        if (this.isWorkingDayNumber(first + i)) n += 1;
        through[i] = n;
      }
      c = { first, through };
      this.counts.set(year, c);
    }
    return c;
  }

  /** Working days from 1 January of `day`'s year through `day`, both included. */
  private throughDay(day: number): number {
    const c = this.yearCounts(yearOf(day));
    return c.through[day - c.first];
  }

  private isWorkingDayNumber(day: number): boolean {
    const year = this.years.get(yearOf(day));
    if (year?.workdays.has(day)) return true;
    if (year?.holidays.has(day)) return false;
    return !isWeekend(day);
  }
}

/** China's calendar as published, from calendar-data/cn-public-holidays.json (checked when this module loads). */
export const CN_WORKING_CALENDAR = new WorkingCalendar(cnPublicHolidays.years);
