import fc from 'fast-check';
import { ZodError } from 'zod';
import holidayFile from './calendar-data/cn-public-holidays.json';
import { CalendarDataError, CN_WORKING_CALENDAR as cal, shanghaiDate, WorkingCalendar } from './calendar';
import { calendarFromFile, loadYear, parseYearArrangement } from './calendar-schema';

// Every date below is taken from calendar-data/cn-public-holidays.json (the State Council notices for 2025
// and 2026): 调休 Saturdays 2025-02-08, 2025-10-11, 2026-02-14; 调休 Sunday 2025-09-28; 国庆节、中秋节
// 2025-10-01…08; 春节 2025-01-28…02-04 and 2026-02-15…23.

/** End of a day in Asia/Shanghai, written out by hand. */
const endOfDay = (date: string) => Date.parse(`${date}T23:59:59.999+08:00`);

describe('isWorkingDay', () => {
  test('a normal Saturday rests, a 调休 Saturday works', () => {
    expect(cal.isWorkingDay('2025-02-15')).toBe(false);
    expect(cal.isWorkingDay('2025-02-08')).toBe(true);
    expect(cal.isWorkingDay('2025-10-11')).toBe(true);
    expect(cal.isWorkingDay('2025-09-28')).toBe(true); // a 调休 Sunday
  });

  test('a weekday holiday rests, the weekday after it works', () => {
    expect(cal.isWorkingDay('2025-10-08')).toBe(false); // Wednesday, last day of Golden Week 2025
    expect(cal.isWorkingDay('2025-10-09')).toBe(true);
    expect(cal.isWorkingDay('2026-02-23')).toBe(false); // Monday, last day of 春节 2026
  });

  test('a year not loaded is Monday–Friday', () => {
    expect(cal.isLoaded(2027)).toBe(false);
    expect(cal.isWorkingDay('2027-01-01')).toBe(true); // a Friday; 元旦 2027 is not loaded yet
    expect(cal.isWorkingDay('2027-01-02')).toBe(false);
  });

  test('a malformed or impossible date is refused', () => {
    expect(() => cal.isWorkingDay('2025-02-30')).toThrow(RangeError);
    expect(() => cal.isWorkingDay('2025-2-3')).toThrow(RangeError);
  });
});

describe('addWorkingDays: the filing day does not count, the due date is the end of the n-th working day', () => {
  test('a 调休 Saturday counts as a working day', () => {
    expect(cal.addWorkingDays('2025-02-07', 1)).toEqual({
      date: '2025-02-08',
      dueAtMs: endOfDay('2025-02-08'),
      provisional: false,
    });
    expect(cal.addWorkingDays('2025-02-07', 2).date).toBe('2025-02-10');
  });

  test('across Golden Week the National Day holidays are skipped', () => {
    expect(cal.addWorkingDays('2025-09-30', 1).date).toBe('2025-10-09');
    expect(cal.addWorkingDays('2025-09-30', 3).date).toBe('2025-10-11'); // Thu, Fri, 调休 Saturday
    expect(cal.addWorkingDays('2025-09-26', 1).date).toBe('2025-09-28'); // the 调休 Sunday before it
  });

  test('across Spring Festival', () => {
    expect(cal.addWorkingDays('2025-01-27', 1).date).toBe('2025-02-05');
    expect(cal.addWorkingDays('2026-02-13', 1).date).toBe('2026-02-14'); // 调休 Saturday before 春节
    expect(cal.addWorkingDays('2026-02-13', 2).date).toBe('2026-02-24'); // after nine days off
  });

  test('into a year not loaded: Monday–Friday, and provisional', () => {
    expect(cal.addWorkingDays('2026-12-25', 4)).toEqual({
      date: '2026-12-31',
      dueAtMs: endOfDay('2026-12-31'),
      provisional: false,
    });
    expect(cal.addWorkingDays('2026-12-25', 10)).toEqual({
      date: '2027-01-08',
      dueAtMs: endOfDay('2027-01-08'),
      provisional: true,
    });
  });

  test('from a year not loaded into a loaded one: only the counted span matters', () => {
    expect(cal.addWorkingDays('2024-12-31', 1)).toMatchObject({ date: '2025-01-02', provisional: false });
  });

  test('n = 0 is the filing day itself, even a holiday', () => {
    expect(cal.addWorkingDays('2025-10-01', 0)).toEqual({
      date: '2025-10-01',
      dueAtMs: endOfDay('2025-10-01'),
      provisional: false,
    });
  });

  test('n = 10, the national time limit', () => {
    expect(cal.addWorkingDays('2026-03-02', 10).date).toBe('2026-03-16'); // two plain weeks
    // Through Golden Week 2025: 9-28 (调休), 9-29, 9-30, 10-09, 10-10, 10-11 (调休), 10-13 … 10-16.
    expect(cal.addWorkingDays('2025-09-26', 10).date).toBe('2025-10-16');
  });

  test('a negative or fractional n is a programming error', () => {
    expect(() => cal.addWorkingDays('2025-03-03', -1)).toThrow(RangeError);
    expect(() => cal.addWorkingDays('2025-03-03', 1.5)).toThrow(RangeError);
  });

  test('dueFrom(Date.now(), n) counts from the date in China, not in UTC', () => {
    const now = Date.parse('2025-02-07T16:30:00Z'); // 2025-02-08 00:30 in Beijing, the 调休 Saturday
    expect(shanghaiDate(now)).toBe('2025-02-08');
    expect(cal.dueFrom(now, 1)).toEqual({ date: '2025-02-10', dueAtMs: endOfDay('2025-02-10'), provisional: false });
  });
});

describe('workingDaysBetween', () => {
  test('counts the days after the first up to and including the second', () => {
    expect(cal.workingDaysBetween('2025-09-30', '2025-10-11')).toBe(3);
    expect(cal.workingDaysBetween('2025-10-11', '2025-09-30')).toBe(-3);
    expect(cal.workingDaysBetween('2025-10-01', '2025-10-01')).toBe(0);
  });

  test('equals counting day by day, across year ends, loaded years (with 调休) and years counted Monday–Friday', () => {
    const DAY = 86_400_000;
    const from2023 = Date.parse('2023-01-01T00:00:00Z');
    const anyDay = fc
      .integer({ min: 0, max: 6 * 366 })
      .map((d) => new Date(from2023 + d * DAY).toISOString().slice(0, 10));
    const dayByDay = (a: string, b: string) => {
      let n = 0;
      for (let t = Date.parse(`${a}T00:00:00Z`) + DAY; t <= Date.parse(`${b}T00:00:00Z`); t += DAY)
        if (cal.isWorkingDay(new Date(t).toISOString().slice(0, 10))) n += 1;
      return n;
    };
    fc.assert(
      fc.property(anyDay, anyDay, (a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        expect(cal.workingDaysBetween(lo, hi)).toBe(dayByDay(lo, hi));
        expect(cal.workingDaysBetween(hi, lo) + dayByDay(lo, hi)).toBe(0);
      }),
      { numRuns: 300 },
    );
    // Over two year ends: an unloaded year, the loaded 2025 (National Day week, the worked Saturday 10-11), 2026.
    expect(cal.workingDaysBetween('2024-12-31', '2026-01-01')).toBe(dayByDay('2024-12-31', '2026-01-01'));
  });
});

describe('loading years', () => {
  test('the file in the project passes the schema', () => {
    expect(calendarFromFile(holidayFile).loadedYears).toEqual([2025, 2026]);
  });

  test('a loaded year turns a provisional due date into a final one', () => {
    const only2026 = new WorkingCalendar({ 2026: holidayFile.years['2026'] });
    expect(only2026.addWorkingDays('2025-09-30', 1)).toMatchObject({ date: '2025-10-01', provisional: true });
    const both = loadYear(only2026, 2025, holidayFile.years['2025']);
    expect(both.addWorkingDays('2025-09-30', 1)).toMatchObject({ date: '2025-10-09', provisional: false });
    expect(only2026.isLoaded(2025)).toBe(false); // calendars are immutable
  });

  const base = holidayFile.years['2025'];
  const refusals: [string, unknown, RegExp][] = [
    [
      'a date both holiday and make-up day',
      { ...base, workdays: [...base.workdays, '2025-10-04'] },
      /既是节假日又是调休上班日/,
    ],
    ['a make-up day that is not a weekend', { ...base, workdays: [...base.workdays, '2025-10-09'] }, /不是周六或周日/],
    ['a holiday outside the year', { ...base, holidays: [{ name: '元旦', dates: ['2026-01-01'] }] }, /不在 2025 年内/],
    ['a make-up day outside the year', { ...base, workdays: ['2024-12-28'] }, /不在 2025 年内/],
    ['an impossible date', { ...base, holidays: [{ name: '春节', dates: ['2025-02-30'] }] }, /不是有效的日期/],
  ];
  test.each(refusals)('the validator refuses %s', (_what, input, message) => {
    expect(() => parseYearArrangement(2025, input)).toThrow(ZodError);
    expect(() => parseYearArrangement(2025, input)).toThrow(message);
    expect(() => new WorkingCalendar({ 2025: input as typeof base })).toThrow(CalendarDataError);
  });

  test('the validator refuses a wrong shape, naming the field', () => {
    const result = (() => {
      try {
        parseYearArrangement(2025, { holidays: [{ name: '元旦', dates: '2025-01-01' }] });
      } catch (e) {
        return e as ZodError;
      }
    })();
    expect(result?.issues.map((i) => i.path.join('.'))).toEqual(
      expect.arrayContaining(['holidays.0.dates', 'workdays']),
    );
  });
});

describe('properties over the loaded years', () => {
  const first = Date.parse('2025-01-01T00:00:00Z');
  const last = Date.parse('2026-12-31T00:00:00Z');
  const startDate = fc
    .integer({ min: 0, max: (last - first) / 86_400_000 })
    .map((d) => new Date(first + d * 86_400_000).toISOString().slice(0, 10));

  test('workingDaysBetween undoes addWorkingDays, and a due date with n > 0 is a working day', () => {
    fc.assert(
      fc.property(startDate, fc.integer({ min: 0, max: 30 }), (start, n) => {
        const due = cal.addWorkingDays(start, n);
        expect(cal.workingDaysBetween(start, due.date)).toBe(n);
        if (n > 0) expect(cal.isWorkingDay(due.date)).toBe(true);
        expect(due.provisional).toBe(due.date > '2026-12-31');
      }),
    );
  });
});
