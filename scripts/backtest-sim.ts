// The world `npm run backtest` predicts in: a generated history of completed cases (fixed seed) in two provinces,
// with fast, ordinary and slow organisations and small ones that must borrow their county's or province's
// durations; and the backtest itself — each case predicted on a day while it was open, from only the stages decided
// before that day (the last 12 months), with the same code the API uses (domain/prediction.ts).

import { buildChain } from '../domain/chain';
import { CN_WORKING_CALENDAR, type WorkingCalendar } from '../domain/calendar';
import {
  addMonths,
  DurationBook,
  FALLBACK_LEVELS,
  predictCompletion,
  windowStart,
  type FallbackLevel,
  type OrgPlace,
  type StageDuration,
} from '../domain/prediction';
import { seededRandom } from '../infra/demo-data';

/** How an organisation works: most stages take about `median` working days, a few are done the same day. */
interface Pace {
  median: number;
  spread: number;
  sameDay: number;
}
const PACES = {
  fast: { median: 1, spread: 0.6, sameDay: 0.3 },
  ordinary: { median: 3, spread: 0.7, sameDay: 0.1 },
  slow: { median: 8, spread: 0.6, sameDay: 0.05 },
} satisfies Record<string, Pace>;
type PaceName = keyof typeof PACES;

interface SimOrg {
  place: OrgPlace;
  pace: Pace;
  /** Cases a year it files (schools only). */
  casesPerYear: number;
}

export interface SimStage {
  org: OrgPlace;
  openedOn: string;
  decidedOn: string;
  days: number;
}
export interface SimCase {
  filedOn: string;
  stages: SimStage[];
  completedOn: string;
}

function normal(rand: () => number): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

function sampleDays(pace: Pace, rand: () => number): number {
  if (rand() < pace.sameDay) return 0;
  return Math.max(0, Math.round(pace.median * Math.exp(pace.spread * normal(rand))));
}

/**
 * Counties as [code, bureau pace, schools as [pace, cases a year]]. Schools filing fewer than 20 cases a year hold
 * fewer than 20 stages in a year and use their county's durations; the bureaus of 520304 and 511923 see too few
 * cases and use their province's.
 */
const COUNTIES: [string, PaceName, [PaceName, number][]][] = [
  [
    '520302',
    'ordinary',
    [
      ['ordinary', 120],
      ['fast', 100],
      ['slow', 80],
      ['ordinary', 6],
      ['fast', 5],
      ['ordinary', 4],
    ],
  ],
  [
    '520303',
    'fast',
    [
      ['fast', 90],
      ['ordinary', 70],
      ['fast', 5],
      ['ordinary', 3],
    ],
  ],
  [
    '520304',
    'slow',
    [
      ['slow', 4],
      ['ordinary', 3],
      ['slow', 2],
    ],
  ],
  [
    '511922',
    'slow',
    [
      ['ordinary', 100],
      ['slow', 90],
      ['slow', 6],
      ['ordinary', 5],
    ],
  ],
  [
    '511923',
    'ordinary',
    [
      ['ordinary', 5],
      ['fast', 4],
      ['ordinary', 3],
    ],
  ],
];

function world(): SimOrg[] {
  const orgs: SimOrg[] = [];
  for (const [county, bureau, schools] of COUNTIES) {
    const province = county.slice(0, 2);
    orgs.push({ place: { code: county, kind: 'COUNTY', county, province }, pace: PACES[bureau], casesPerYear: 0 });
    schools.forEach(([pace, casesPerYear], i) =>
      orgs.push({
        place: { code: `${county}${String(i + 1).padStart(4, '0')}`, kind: 'SCHOOL', county, province },
        pace: PACES[pace],
        casesPerYear,
      }),
    );
  }
  return orgs;
}

/**
 * Cases filed over `months` months from `start`, each school filing its own status changes and receiving transfers
 * (from any other school, in its county or not), every stage's duration drawn from its holder's pace.
 */
export function generateCases(seed: number, start = '2024-01-01', months = 24, calendar = CN_WORKING_CALENDAR) {
  const rand = seededRandom(seed);
  const orgs = world();
  const byCode = new Map(orgs.map((o) => [o.place.code, o]));
  const schools = orgs.filter((o) => o.place.kind === 'SCHOOL');
  const span = calendar.workingDaysBetween(start, addMonths(start, months));
  const cases: SimCase[] = [];
  for (const school of schools) {
    const n = Math.round((school.casesPerYear * months) / 12);
    for (let i = 0; i < n; i += 1) {
      const filedOn = calendar.addWorkingDays(start, Math.floor(rand() * span)).date;
      const here = { code: school.place.code, countyCode: school.place.county };
      const other = schools[Math.floor(rand() * schools.length)];
      const chain =
        rand() < 0.4 && other !== school
          ? buildChain('TRANSFER', { code: other.place.code, countyCode: other.place.county }, here)
          : buildChain('SUSPEND', here);
      let openedOn = filedOn;
      const stages: SimStage[] = [];
      for (const step of chain) {
        const org = byCode.get(step.orgCode)!;
        const days = sampleDays(org.pace, rand);
        const decidedOn = calendar.addWorkingDays(openedOn, days).date;
        stages.push({ org: org.place, openedOn, decidedOn, days });
        openedOn = decidedOn;
      }
      cases.push({ filedOn, stages, completedOn: openedOn });
    }
  }
  return cases.sort((a, b) => a.filedOn.localeCompare(b.filedOn));
}

export interface LevelCoverage {
  level: FallbackLevel;
  /** Predictions made (a case is predicted on every working day it was open). */
  predictions: number;
  p50Held: number;
  p80Held: number;
}
export interface BacktestResult {
  /** Completed cases predicted. */
  cases: number;
  predictions: number;
  p50Held: number;
  p80Held: number;
  byLevel: LevelCoverage[];
}

/**
 * Predicts each case filed from `from` on every working day it was open (before the day's decisions), from the
 * stages decided before that day in the 12 months before it; counts how often the actual completion came on or
 * before the p50 and the p80 date, by the least specific fallback level the prediction used.
 *
 * Every open day counts once, as on the pages: the population is "the open cases on a day", which is what the
 * prediction conditions on (a stage t working days old). Predicting each case once on a day drawn from its life
 * would weigh short cases' days more and make any calibrated prediction look too cautious.
 */
export function backtest(cases: SimCase[], opts: { from: string; calendar?: WorkingCalendar }): BacktestResult {
  const calendar = opts.calendar ?? CN_WORKING_CALENDAR;
  const decided = cases.flatMap((c) => c.stages).sort((a, b) => a.decidedOn.localeCompare(b.decidedOn));
  const books = new Map<string, DurationBook>();
  const bookOn = (today: string) => {
    let book = books.get(today);
    if (!book) {
      const from = windowStart(today);
      const known: StageDuration[] = [];
      for (const s of decided) {
        if (s.decidedOn >= today) break;
        if (s.decidedOn >= from) known.push({ org: s.org, days: s.days });
      }
      books.set(today, (book = new DurationBook(known)));
    }
    return book;
  };
  const levels = new Map<FallbackLevel, LevelCoverage>(
    FALLBACK_LEVELS.map((level) => [level, { level, predictions: 0, p50Held: 0, p80Held: 0 }]),
  );
  const all = { cases: 0, predictions: 0, p50Held: 0, p80Held: 0 };
  for (const c of cases) {
    if (c.filedOn < opts.from) continue;
    all.cases += 1;
    for (let today = c.filedOn; today <= c.completedOn; today = calendar.addWorkingDays(today, 1).date) {
      // Open on `today`: the first stage not decided before it.
      const at = c.stages.findIndex((s) => s.decidedOn >= today);
      const p = predictCompletion(bookOn(today), calendar, {
        today,
        current: { org: c.stages[at].org, openedOn: c.stages[at].openedOn },
        next: c.stages.slice(at + 1).map((s) => ({ org: s.org })),
      });
      for (const t of [all, levels.get(p.level)!]) {
        t.predictions += 1;
        if (c.completedOn <= p.p50) t.p50Held += 1;
        if (c.completedOn <= p.p80) t.p80Held += 1;
      }
    }
  }
  return { ...all, byLevel: [...levels.values()].filter((l) => l.predictions > 0) };
}
