// Predicted completion of an open case (issue 14 item 5): when will the last stage be decided, as a p50 and a p80
// date. Pure and deterministic (no clock, no randomness), so the API, the console's answers and `npm run backtest`
// run the same code.
//
// The model, in working days (domain/calendar.ts), at a day's granularity:
// - Each holder organisation has its own empirical distribution of stage durations: the working days from the day a
//   stage opened to the day it was decided, over its stages decided in the last 12 months.
// - An organisation with fewer than MIN_STAGES such stages borrows its county's (the stages held by organisations of
//   the same kind in the same county), then its province's (same kind, same province), then a fixed prior (uniform
//   over the statutory 0–10 working days). The level used is reported with the prediction.
// - The current stage is conditioned on the time already spent in it: only durations d ≥ t (t working days elapsed)
//   count, and the remaining time is d − t. When fewer than MIN_TAIL of them are that long, the next level's tail is
//   used; a stage older than every stage on record starts afresh from its holder's whole distribution.
// - The remaining stages are independent; their distributions are convolved exactly (never p80s added), and the p50 /
//   p80 are read from the distribution of the total remaining working days.

import type { WorkingCalendar } from './calendar';

/** Stages an organisation needs in the window before its own distribution is used. */
export const MIN_STAGES = 20;
/** Stages at least as long as the current one's elapsed time needed before that level's tail is trusted. */
export const MIN_TAIL = 5;
/** The window of decided stages the distributions are built from. */
export const WINDOW_MONTHS = 12;
/** The prior when not even the province has MIN_STAGES stages of that kind: uniform over 0–10 working days. */
export const PRIOR_MAX_DAYS = 10;
/** Durations are capped (a stage a year long counts as this many working days) to keep the convolution small. */
const MAX_DAYS = 260;

export type FallbackLevel = 'ORG' | 'COUNTY' | 'PROVINCE' | 'PRIOR';
export const FALLBACK_LEVELS: readonly FallbackLevel[] = ['ORG', 'COUNTY', 'PROVINCE', 'PRIOR'];

/** Where an organisation sits: its kind and the county and province its stages pool with. */
export interface OrgPlace {
  code: string;
  kind: string;
  county: string;
  province: string;
}

/** The first China date of the window of decided stages a prediction on `today` reads (12 calendar months back). */
export function windowStart(today: string): string {
  return addMonths(today, -WINDOW_MONTHS);
}

/** Adds months to a China date 'YYYY-MM-DD' (the day clipped to the month's length). */
export function addMonths(date: string, months: number): string {
  const [y, m, d] = date.split('-').map(Number);
  const first = new Date(Date.UTC(y, m - 1 + months, 1));
  const last = new Date(Date.UTC(first.getUTCFullYear(), first.getUTCMonth() + 1, 0)).getUTCDate();
  first.setUTCDate(Math.min(d, last));
  return first.toISOString().slice(0, 10);
}

/** The place of an organisation from its code, kind and parent (GB/T 2260: a province is the first two digits). */
export function placeOf(org: { code: string; kind: string; parentCode: string | null }): OrgPlace {
  const county = org.kind === 'SCHOOL' ? (org.parentCode ?? org.code) : org.code;
  return { code: org.code, kind: org.kind, county, province: county.slice(0, 2) };
}

/** One decided stage: who held it and how many working days it took. */
export interface StageDuration {
  org: OrgPlace;
  days: number;
  /** How many stages this line stands for (1 unless the loader grouped equal lines). */
  count?: number;
}

type Counts = Map<number, number>;

const addTo = (m: Map<string, Counts>, key: string, days: number, n: number) => {
  let c = m.get(key);
  if (!c) m.set(key, (c = new Map()));
  c.set(days, (c.get(days) ?? 0) + n);
};
const total = (c: Counts | undefined) => {
  let n = 0;
  for (const v of c?.values() ?? []) n += v;
  return n;
};

/** The decided stages of a window, counted by organisation, by county and by province (each per kind). */
export class DurationBook {
  private readonly byOrg = new Map<string, Counts>();
  private readonly byCounty = new Map<string, Counts>();
  private readonly byProvince = new Map<string, Counts>();

  constructor(stages: Iterable<StageDuration>) {
    for (const s of stages) {
      const days = Math.min(MAX_DAYS, Math.max(0, Math.round(s.days)));
      const n = s.count ?? 1;
      addTo(this.byOrg, s.org.code, days, n);
      addTo(this.byCounty, `${s.org.kind}:${s.org.county}`, days, n);
      addTo(this.byProvince, `${s.org.kind}:${s.org.province}`, days, n);
    }
  }

  /** The levels an organisation's distribution may come from, most specific first, each with its counts. */
  levels(org: OrgPlace): { level: FallbackLevel; counts: Counts; n: number }[] {
    const found: { level: FallbackLevel; counts: Counts; n: number }[] = [];
    const push = (level: FallbackLevel, c: Counts | undefined) => {
      const n = total(c);
      if (c && n >= MIN_STAGES) found.push({ level, counts: c, n });
    };
    push('ORG', this.byOrg.get(org.code));
    push('COUNTY', this.byCounty.get(`${org.kind}:${org.county}`));
    push('PROVINCE', this.byProvince.get(`${org.kind}:${org.province}`));
    const prior: Counts = new Map(Array.from({ length: PRIOR_MAX_DAYS + 1 }, (_, d) => [d, 1]));
    found.push({ level: 'PRIOR', counts: prior, n: 0 });
    return found;
  }

  /** Stages of an organisation's own in the window. */
  ownStages(code: string): number {
    return total(this.byOrg.get(code));
  }
}

/** A probability mass function over whole working days: p[d] is P(D = d). */
export type Pmf = number[];

function pmfOf(counts: Counts, shift = 0): Pmf {
  let n = 0;
  let max = 0;
  for (const [d, c] of counts) {
    if (d < shift) continue;
    n += c;
    max = Math.max(max, d - shift);
  }
  const p: Pmf = new Array<number>(max + 1).fill(0);
  for (const [d, c] of counts) if (d >= shift) p[d - shift] += c / n;
  return p;
}

function tailCount(counts: Counts, atLeast: number): number {
  let n = 0;
  for (const [d, c] of counts) if (d >= atLeast) n += c;
  return n;
}

/** The distribution of the sum of independent durations (exact discrete convolution). */
export function convolve(a: Pmf, b: Pmf): Pmf {
  const out: Pmf = new Array<number>(a.length + b.length - 1).fill(0);
  for (let i = 0; i < a.length; i += 1) {
    if (a[i] === 0) continue;
    for (let j = 0; j < b.length; j += 1) out[i + j] += a[i] * b[j];
  }
  return out;
}

/** The q-quantile of a pmf: the first working day d by which completion is at least that likely, P(D ≤ d) ≥ q. */
export function quantile(p: Pmf, q: number): number {
  let cdf = 0;
  for (let d = 0; d < p.length; d += 1) {
    cdf += p[d];
    if (cdf >= q - 1e-12) return d;
  }
  return p.length - 1;
}

export interface RemainingStage {
  org: OrgPlace;
}

export interface PredictionInput {
  /** Today's date in China. */
  today: string;
  /** The stage under way: its holder and the China date it opened. */
  current: { org: OrgPlace; openedOn: string };
  /** The stages after it, in order. */
  next: readonly RemainingStage[];
}

export interface StagePrediction {
  orgCode: string;
  level: FallbackLevel;
  /** Stages behind the distribution used (0 for the prior). */
  basis: number;
}

export interface Prediction {
  /** The China dates by which the last stage is decided with probability 1/2 and 4/5. */
  p50: string;
  p80: string;
  /** Working days from today to those dates. */
  p50WorkingDays: number;
  p80WorkingDays: number;
  /** Working days already spent in the current stage. */
  elapsedWorkingDays: number;
  /** When the current stage alone is decided, p50 and p80: against its due date, the early warning (预计超期). */
  currentStage: { p50: string; p80: string };
  /** The least specific level any remaining stage used: what the prediction is as good as. */
  level: FallbackLevel;
  stages: StagePrediction[];
}

const worst = (levels: FallbackLevel[]) => FALLBACK_LEVELS[Math.max(...levels.map((l) => FALLBACK_LEVELS.indexOf(l)))];

/** The predicted completion of an open case from the durations in `book`. */
export function predictCompletion(book: DurationBook, calendar: WorkingCalendar, input: PredictionInput): Prediction {
  const elapsed = Math.max(0, calendar.workingDaysBetween(input.current.openedOn, input.today));
  const stages: StagePrediction[] = [];

  // The current stage: the first level with enough stages at least this long, its tail shifted by the time spent.
  const levels = book.levels(input.current.org);
  const tail = levels.find((l) => l.level !== 'PRIOR' && tailCount(l.counts, elapsed) >= MIN_TAIL);
  let pmf: Pmf;
  if (tail) {
    pmf = pmfOf(tail.counts, elapsed);
    stages.push({ orgCode: input.current.org.code, level: tail.level, basis: tailCount(tail.counts, elapsed) });
  } else {
    // Longer than (nearly) everything on record: assume it takes its holder's usual time from now on.
    const own = levels[0];
    pmf = pmfOf(own.counts);
    stages.push({ orgCode: input.current.org.code, level: own.level, basis: own.n });
  }

  const currentStage = {
    p50: calendar.addWorkingDays(input.today, quantile(pmf, 0.5)).date,
    p80: calendar.addWorkingDays(input.today, quantile(pmf, 0.8)).date,
  };
  for (const s of input.next) {
    const own = book.levels(s.org)[0];
    pmf = convolve(pmf, pmfOf(own.counts));
    stages.push({ orgCode: s.org.code, level: own.level, basis: own.n });
  }

  const p50 = quantile(pmf, 0.5);
  const p80 = quantile(pmf, 0.8);
  return {
    p50: calendar.addWorkingDays(input.today, p50).date,
    p80: calendar.addWorkingDays(input.today, p80).date,
    p50WorkingDays: p50,
    p80WorkingDays: p80,
    elapsedWorkingDays: elapsed,
    currentStage,
    level: worst(stages.map((s) => s.level)),
    stages,
  };
}
