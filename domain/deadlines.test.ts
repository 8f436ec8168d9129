import { CN_WORKING_CALENDAR } from './calendar';
import {
  DEFAULT_DEADLINE_POLICY,
  deadlineOnDate,
  nextReminderAt,
  stageDeadline,
  type DeadlinePolicy,
} from './deadlines';

// Time limits on China's calendar: the arithmetic the workflow's timers are set from.

const at = (beijing: string) => Date.parse(`${beijing}+08:00`);
const iso = (ms: number) => new Date(ms).toISOString();
const P = DEFAULT_DEADLINE_POLICY;

test('10 working days from the day before Golden Week: the holidays are skipped, the 调休 Saturday counts', () => {
  // Opened Wed 2026-09-30. 10-01…10-07 rest; Thu 10-08 (1), Fri 10-09 (2), Sat 10-10 worked (3), 10-12…10-16 (4–8),
  // Mon 10-19 (9), Tue 10-20 (10): due by the end of 2026-10-20 in China.
  const d = stageDeadline(CN_WORKING_CALENDAR, P, {
    type: 'TRANSFER',
    stage: 'RECEIVING_COUNTY',
    openedAtMs: at('2026-09-30T10:00:00'),
  });
  expect(d.dueDate).toBe('2026-10-20');
  expect(iso(d.dueAtMs)).toBe('2026-10-20T15:59:59.999Z');
  expect(d.provisional).toBe(false);
  // Escalation 5 working days after the due date: 10-21 … 10-27.
  expect(iso(d.escalateAtMs)).toBe(iso(at('2026-10-27T23:59:59.999')));
});

test('a stage opened late in the evening counts from its date in China, not in UTC', () => {
  // 2026-11-19 23:30 in Beijing is still Thursday the 19th; 16:30Z on the 19th is already Friday the 20th there.
  const thursday = stageDeadline(CN_WORKING_CALENDAR, P, {
    type: 'SUSPEND',
    stage: 'SCHOOL',
    openedAtMs: at('2026-11-19T23:30:00'),
  });
  expect(thursday.dueDate).toBe('2026-12-03');
  const friday = stageDeadline(CN_WORKING_CALENDAR, P, {
    type: 'SUSPEND',
    stage: 'SCHOOL',
    openedAtMs: Date.parse('2026-11-19T16:30:00Z'),
  });
  expect(friday.dueDate).toBe('2026-12-04');
});

test('per change type and stage overrides; other stages keep the default', () => {
  const policy: DeadlinePolicy = { ...P, overrides: { TRANSFER: { RECEIVING_SCHOOL: 3 } } };
  const opened = at('2026-11-23T09:00:00'); // Monday
  expect(
    stageDeadline(CN_WORKING_CALENDAR, policy, { type: 'TRANSFER', stage: 'RECEIVING_SCHOOL', openedAtMs: opened })
      .dueDate,
  ).toBe('2026-11-26');
  expect(
    stageDeadline(CN_WORKING_CALENDAR, policy, { type: 'TRANSFER', stage: 'SENDING_SCHOOL', openedAtMs: opened })
      .dueDate,
  ).toBe('2026-12-07');
  expect(
    stageDeadline(CN_WORKING_CALENDAR, policy, { type: 'SUSPEND', stage: 'SCHOOL', openedAtMs: opened }).dueDate,
  ).toBe('2026-12-07');
});

test('a due date (or escalation) in a year not loaded is counted Monday–Friday and marked provisional', () => {
  const d = stageDeadline(CN_WORKING_CALENDAR, P, {
    type: 'TRANSFER',
    stage: 'SENDING_COUNTY',
    openedAtMs: at('2026-12-24T10:00:00'),
  });
  expect(d.provisional).toBe(true);
  expect(d.dueDate).toBe('2027-01-07'); // 12-25, 28–31, 01-01 (Friday, a working day until 2027 is loaded), 01-04 … 01-07
  // Only the escalation reaches into 2027: still provisional.
  const e = stageDeadline(CN_WORKING_CALENDAR, P, {
    type: 'TRANSFER',
    stage: 'SENDING_COUNTY',
    openedAtMs: at('2026-12-14T10:00:00'),
  });
  expect(e.dueDate).toBe('2026-12-28');
  expect(e.provisional).toBe(true);
  const loaded = CN_WORKING_CALENDAR.withYear(2027, {
    holidays: [{ name: '元旦', dates: ['2027-01-01', '2027-01-02', '2027-01-03'] }],
    workdays: [],
  });
  const final = stageDeadline(loaded, P, {
    type: 'TRANSFER',
    stage: 'SENDING_COUNTY',
    openedAtMs: at('2026-12-24T10:00:00'),
  });
  expect(final).toMatchObject({ dueDate: '2027-01-08', provisional: false });
});

test('reminders repeat every N working days at 09:00 in China, over weekends and 调休', () => {
  // Friday 2026-10-09 18:00, every 2 working days: Sat 10-10 is worked (1), Mon 10-12 (2) → 09:00 on the 12th.
  expect(iso(nextReminderAt(CN_WORKING_CALENDAR, P, at('2026-10-09T18:00:00')))).toBe(iso(at('2026-10-12T09:00:00')));
  // Friday 2026-11-27, every 1 working day: Monday 11-30 09:00.
  const daily = { ...P, reminderEveryWorkingDays: 1 };
  expect(iso(nextReminderAt(CN_WORKING_CALENDAR, daily, at('2026-11-27T00:00:00')))).toBe(
    iso(at('2026-11-30T09:00:00')),
  );
});

test('an extension is due by the end of the chosen day in China, and final', () => {
  const d = deadlineOnDate(CN_WORKING_CALENDAR, P, '2026-12-15');
  expect(iso(d.dueAtMs)).toBe('2026-12-15T15:59:59.999Z');
  expect(d.provisional).toBe(false);
});

test('millisecond durations (tests, demonstrations) replace the working days', () => {
  const ms: DeadlinePolicy = { ...P, stageDueMs: 1000, reminderIntervalMs: 500, escalateAfterMs: 2000 };
  const d = stageDeadline(CN_WORKING_CALENDAR, ms, {
    type: 'TRANSFER',
    stage: 'RECEIVING_SCHOOL',
    openedAtMs: 1_000_000,
  });
  expect(d).toMatchObject({ dueAtMs: 1_001_000, escalateAtMs: 1_003_000, provisional: false });
  expect(nextReminderAt(CN_WORKING_CALENDAR, ms, 5_000)).toBe(5_500);
});
