// The predicted completion of open cases (README "Predicted completion"): the durations of the stages decided in the
// last 12 months, read in one grouped query and kept for ten minutes, handed to the pure prediction of
// domain/prediction.ts — the same code `npm run backtest` measures.

import type { PrismaClient } from '../../infra/db';
import { loadCalendar } from '../../infra/deadlines';
import { TtlCache } from '../../infra/ttl-cache';
import { shanghaiDate, type WorkingCalendar } from '../../domain/calendar';
import {
  DurationBook,
  placeOf,
  predictCompletion,
  windowStart,
  type FallbackLevel,
  type OrgPlace,
} from '../../domain/prediction';

/** What the pages show: the dates, and what they rest on. */
export interface CasePrediction {
  p50: string;
  p80: string;
  level: FallbackLevel;
  elapsedWorkingDays: number;
  currentStage: { p50: string; p80: string };
  stages: { orgCode: string; level: FallbackLevel; basis: number }[];
}

/** The fields of a case the prediction needs (a case row with its steps). */
export interface PredictableCase {
  status: string;
  round: number;
  currentStage: string | null;
  steps: {
    round: number;
    seq: number;
    stage: string;
    orgCode: string;
    openedAt: Date | null;
    decidedAt: Date | null;
  }[];
}

/** How far before the window the working-day table starts: a year and a month, more than the durations' cap. */
const CUM_LOOKBACK_DAYS = 400;

const addDays = (date: string, n: number) =>
  new Date(Date.parse(`${date}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);

interface Loaded {
  book: DurationBook;
  calendar: WorkingCalendar;
  /**
   * The predictions made from this book, by day, opening day and holders: a prediction is a pure function of those
   * and the book, so a case listed again (every officer's 待办, refreshed all day) costs a lookup. It goes with the
   * book, at most ten minutes; MEMO_LIMIT bounds it.
   */
  memo: Map<string, Promise<CasePrediction | null>>;
}

/** Predictions kept per book; past it the memo starts again (a province's distinct chains and days are far fewer). */
const MEMO_LIMIT = 50_000;

export class PredictionService {
  /** The durations last read, for which day and when; a newer read under way, for which day. */
  private book: { today: string; at: number; value: Loaded } | null = null;
  private reading: { today: string; value: Promise<Loaded> } | null = null;
  private readonly places: TtlCache<string, OrgPlace | null>;

  /**
   * `ttlMs`: how long the durations are kept — ten minutes: they span twelve months, so ten minutes of decisions
   * hardly move them, and the read is a scan of the year's stages (5–6 s of Postgres time at a million cases on the
   * loaded two-core machine). After that they are read again in the background while the kept ones still answer, so
   * no request waits for the read; only the first read of a day is waited for.
   */
  constructor(
    private readonly prisma: PrismaClient,
    private readonly ttlMs = 10 * 60_000,
  ) {
    this.places = new TtlCache(5 * 60_000, 50_000);
  }

  /**
   * The durations for `today`: the kept ones while they are fresh; the kept ones too when they are older or from an
   * earlier day (the first requests after midnight), with a new read started in the background; waited for only when
   * none are kept, or the kept ones are for a later day than asked.
   */
  private load(today: string): Promise<Loaded> {
    const kept = this.book;
    if (kept && kept.today <= today) {
      const stale = kept.today !== today || Date.now() - kept.at >= this.ttlMs;
      if (stale && !this.reading) void this.reread(today).catch(() => undefined);
      return Promise.resolve(kept.value);
    }
    return this.reading?.today === today ? this.reading.value : this.reread(today);
  }

  private reread(today: string): Promise<Loaded> {
    const value = this.read(today).then(
      (v) => {
        if (this.reading?.value === value) this.reading = null;
        if (!this.book || this.book.today <= today) this.book = { today, at: Date.now(), value: v };
        return v;
      },
      (e: unknown) => {
        if (this.reading?.value === value) this.reading = null;
        throw e;
      },
    );
    this.reading = { today, value };
    return value;
  }

  /**
   * The decided stages of the 12 months before today, counted per holder and working days taken, in SQL: the working
   * days come from a table of cumulative working-day counts per date (built here from the calendar and sent as one
   * array), so the answer is a few lines per organisation however many stages there are, and the holders' places
   * one query for all of them. (Grouping by opening and decision day instead was ≈ 180,000 lines at 200,000 cases,
   * seconds of the API's main thread at a million.)
   */
  private read(today: string): Promise<Loaded> {
    return (async () => {
      const start = windowStart(today);
      const since = new Date(Date.parse(`${start}T00:00:00+08:00`));
      const calendar = await loadCalendar(this.prisma);
      // cum[i]: working days after `base` up to and including base + i days, from `base` (far enough before the
      // window that an older opening only matters beyond the durations' cap) to tomorrow.
      const base = addDays(start, -CUM_LOOKBACK_DAYS);
      const cum: number[] = [0];
      for (let d = base; d <= today;) {
        d = addDays(d, 1);
        cum.push(cum[cum.length - 1] + (calendar.isWorkingDay(d) ? 1 : 0));
      }
      const last = cum.length - 1;
      const rows = await this.prisma.$queryRaw<{ code: string; days: number; n: number }[]>`
        with w as (select ${cum}::int[] as cum, ${base}::date as base)
        select s."orgCode" as code,
               greatest(0, w.cum[least(((s."decidedAt" + interval '8 hours')::date - w.base), ${last}) + 1]
                           - w.cum[greatest(((s."openedAt" + interval '8 hours')::date - w.base), 0) + 1]) as days,
               count(*)::int as n
          from "ApplicationStep" s, w
         where s."decidedAt" >= ${since} and s."openedAt" is not null
         group by 1, 2`;
      await this.preload(rows.map((r) => r.code));
      const places = new Map<string, OrgPlace | null>();
      for (const code of new Set(rows.map((r) => r.code))) places.set(code, await this.place(code));
      const book = new DurationBook(
        rows.flatMap((r) => {
          const org = places.get(r.code);
          return org ? [{ org, days: Number(r.days), count: r.n }] : [];
        }),
      );
      return { book, calendar, memo: new Map() };
    })();
  }

  private place(code: string): Promise<OrgPlace | null> {
    return this.places.get(code, async () => {
      const o = await this.prisma.organisation.findUnique({
        where: { code },
        select: { code: true, kind: true, parentCode: true },
      });
      return o ? placeOf(o) : null;
    });
  }

  /** The places of organisations not yet cached, read in one query (a page of cases costs one query at most). */
  private async preload(codes: Iterable<string>): Promise<void> {
    const wanted = new Set(codes);
    const missing = [...wanted].filter((c) => !this.places.has(c));
    if (missing.length === 0) return;
    const found = await this.prisma.organisation.findMany({
      where: { code: { in: missing } },
      select: { code: true, kind: true, parentCode: true },
    });
    for (const o of found) void this.places.get(o.code, () => Promise.resolve(placeOf(o)));
  }

  /**
   * The prediction for a case under review; null for a case that is closed, or back with its applicant (RETURNED:
   * when it comes back depends on the family and the school, not on the holders' pace).
   */
  async forCase(a: PredictableCase, nowMs = Date.now()): Promise<CasePrediction | null> {
    return (await this.forCases([a], nowMs))[0];
  }

  /**
   * The predictions for a page of cases, in its order: the durations read once (kept ten minutes), the holders' places
   * in one query for those not cached, and each distinct remaining chain (holders and opening day) computed once per
   * book and day, for every page that lists it (the memo) — the cases waiting at one bureau mostly share theirs.
   */
  async forCases(cases: readonly PredictableCase[], nowMs = Date.now()): Promise<(CasePrediction | null)[]> {
    const open = cases.map((a) => {
      if (a.status !== 'IN_REVIEW' || !a.currentStage) return null;
      const round = a.steps.filter((s) => s.round === a.round).sort((x, y) => x.seq - y.seq);
      const at = round.findIndex((s) => s.stage === a.currentStage);
      const current = round[at];
      if (!current?.openedAt) return null;
      return { openedOn: shanghaiDate(current.openedAt.getTime()), holders: round.slice(at).map((s) => s.orgCode) };
    });
    if (open.every((o) => o === null)) return open.map(() => null);
    const today = shanghaiDate(nowMs);
    const [{ book, calendar, memo }] = await Promise.all([
      this.load(today),
      this.preload(open.flatMap((o) => o?.holders ?? [])),
    ]);
    return Promise.all(
      open.map((o) => {
        if (!o) return null;
        const key = `${today}:${o.openedOn}:${o.holders.join(',')}`;
        let p = memo.get(key);
        if (!p) {
          if (memo.size >= MEMO_LIMIT) memo.clear();
          p = this.predict(book, calendar, today, o.openedOn, o.holders);
          memo.set(key, p);
          // A place that could not be read (the database away) is not kept: the next listing tries again.
          p.catch(() => memo.get(key) === p && memo.delete(key));
        }
        return p;
      }),
    );
  }

  private async predict(
    book: DurationBook,
    calendar: WorkingCalendar,
    today: string,
    openedOn: string,
    holders: string[],
  ): Promise<CasePrediction | null> {
    const places = await Promise.all(holders.map((code) => this.place(code)));
    if (places.some((p) => p === null)) return null;
    const p = predictCompletion(book, calendar, {
      today,
      current: { org: places[0]!, openedOn },
      next: places.slice(1).map((org) => ({ org: org! })),
    });
    return {
      p50: p.p50,
      p80: p.p80,
      level: p.level,
      elapsedWorkingDays: p.elapsedWorkingDays,
      currentStage: p.currentStage,
      stages: p.stages,
    };
  }

  /** Forget the durations (tests; an administrator's repair of history). */
  clear() {
    this.book = null;
    this.reading = null;
  }
}
