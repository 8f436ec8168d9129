import { CN_WORKING_CALENDAR as cal } from './calendar';
import {
  convolve,
  DurationBook,
  MIN_STAGES,
  placeOf,
  predictCompletion,
  quantile,
  type OrgPlace,
  type StageDuration,
} from './prediction';
import { backtest, generateCases } from '../scripts/backtest-sim';

// The maths of the predicted completion (issue 14 item 5). Durations are working days; 2026-11-02 is a Monday.

const school = (code: string, county = '520302'): OrgPlace => placeOf({ code, kind: 'SCHOOL', parentCode: county });
const bureau = (code: string): OrgPlace => placeOf({ code, kind: 'COUNTY', parentCode: null });
const many = (org: OrgPlace, days: number[], times = 1): StageDuration[] =>
  days.flatMap((d) => Array.from({ length: times }, () => ({ org, days: d })));

const A = school('5203020001');
const B = school('5203020002');
const C = school('5119220001', '511922');
const HHG = bureau('520302');

test('an organisation with its own 20 stages is predicted from them; the date counts working days from today', () => {
  const book = new DurationBook(many(A, [2], MIN_STAGES));
  const p = predictCompletion(book, cal, {
    today: '2026-11-02',
    current: { org: A, openedOn: '2026-11-02' },
    next: [],
  });
  expect(p).toMatchObject({ level: 'ORG', p50WorkingDays: 2, p80WorkingDays: 2, p50: '2026-11-04', p80: '2026-11-04' });
  // Across a weekend: Fri + 2 working days is Tuesday.
  const fri = predictCompletion(book, cal, {
    today: '2026-11-06',
    current: { org: A, openedOn: '2026-11-06' },
    next: [],
  });
  expect(fri.p80).toBe('2026-11-10');
});

test('fewer than 20 stages: the county’s (same kind), then the province’s, then the prior', () => {
  const stages = [...many(A, [1], MIN_STAGES - 1), ...many(B, [5], 10), ...many(C, [9], 30)];
  const book = new DurationBook(stages);
  const levelOf = (org: OrgPlace) =>
    predictCompletion(book, cal, { today: '2026-11-02', current: { org, openedOn: '2026-11-02' }, next: [] });
  // A has 19 of its own; its county's schools have 29 (19 at 1 day, 10 at 5).
  expect(levelOf(A)).toMatchObject({ level: 'COUNTY', stages: [{ orgCode: A.code, level: 'COUNTY', basis: 29 }] });
  // A new school in 511922: its county has C's 30.
  expect(levelOf(school('5119220009', '511922')).level).toBe('COUNTY');
  // A school in another county of province 52: the province's 29 schools' stages.
  expect(levelOf(school('5203030001', '520303')).level).toBe('PROVINCE');
  // The bureau: no bureau stages anywhere (schools do not count for it).
  expect(levelOf(HHG)).toMatchObject({ level: 'PRIOR', p80WorkingDays: 8 }); // 0–10 uniformly: P(≤ 8) = 9/11
});

test('the current stage is conditioned on the working days already spent in it', () => {
  // 0–9 working days, equally often. Opened Monday 2026-11-02, today Monday 2026-11-09: 5 working days spent.
  const book = new DurationBook(many(A, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 5));
  const fresh = predictCompletion(book, cal, {
    today: '2026-11-09',
    current: { org: A, openedOn: '2026-11-09' },
    next: [],
  });
  const aged = predictCompletion(book, cal, {
    today: '2026-11-09',
    current: { org: A, openedOn: '2026-11-02' },
    next: [],
  });
  expect(aged.elapsedWorkingDays).toBe(5);
  // Remaining: 0–4 equally (durations ≥ 5, less 5): P(≤ 3) = 0.8.
  expect(aged.p80WorkingDays).toBe(3);
  expect(fresh.p80WorkingDays).toBe(7);
  // Older than every stage on record (12 working days): it restarts from the whole distribution.
  const old = predictCompletion(book, cal, {
    today: '2026-11-18',
    current: { org: A, openedOn: '2026-11-02' },
    next: [],
  });
  expect(old.elapsedWorkingDays).toBe(12);
  expect(old.p80WorkingDays).toBe(7);
});

test('remaining stages are combined as distributions, not by adding their p80s', () => {
  // Each of two stages: 1 day usually, 10 days one time in four: p80 of each is 10. The sum is 2 days 9/16 of the
  // time, 11 days 6/16, 20 days 1/16: its p80 is 11 — not 20.
  const book = new DurationBook([...many(A, [1, 1, 1, 10], 10), ...many(HHG, [1, 1, 1, 10], 10)]);
  const p = predictCompletion(book, cal, {
    today: '2026-11-02',
    current: { org: A, openedOn: '2026-11-02' },
    next: [{ org: HHG }],
  });
  expect(p.p80WorkingDays).toBe(11);
  expect(p.p50WorkingDays).toBe(2);
  expect(p.stages.map((s) => s.level)).toEqual(['ORG', 'ORG']);
});

test('convolution and the quantile', () => {
  expect(convolve([0.5, 0.5], [0.5, 0.5])).toEqual([0.25, 0.5, 0.25]);
  expect(quantile([0.7, 0.3], 0.5)).toBe(0);
  expect(quantile([0.7, 0.3], 0.8)).toBe(1);
  expect(quantile([0.2, 0, 0.6, 0.2], 0.8)).toBe(2);
});

test('the backtest on a generated history is calibrated (npm run backtest checks the full run)', () => {
  const cases = generateCases(7, '2024-01-01', 18);
  const result = backtest(cases, { from: '2025-01-01' });
  expect(result.cases).toBeGreaterThan(200);
  expect(result.byLevel.map((l) => l.level)).toEqual(expect.arrayContaining(['ORG', 'COUNTY']));
  const p80 = result.p80Held / result.predictions;
  expect(p80).toBeGreaterThanOrEqual(0.75);
  expect(p80).toBeLessThanOrEqual(0.85);
});
