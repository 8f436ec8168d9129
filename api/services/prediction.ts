// The predicted completion of open cases (README "Predicted completion"): the durations of the stages decided in the
// last 12 months, read in one grouped query and kept for a minute, handed to the pure prediction of
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

interface Loaded {
  book: DurationBook;
  calendar: WorkingCalendar;
}

export class PredictionService {
  private readonly books: TtlCache<string, Loaded>;
  private readonly places: TtlCache<string, OrgPlace | null>;

  /** `ttlMs`: how long the durations are kept (a minute: a decision moves a distribution by 1/N at most). */
  constructor(
    private readonly prisma: PrismaClient,
    ttlMs = 60_000,
  ) {
    this.books = new TtlCache(ttlMs, 4);
    this.places = new TtlCache(5 * 60_000, 50_000);
  }

  /**
   * The decided stages of the 12 months before today, grouped by holder, opening day and decision day (China dates)
   * in SQL: a few thousand lines however many stages there are.
   */
  private load(today: string): Promise<Loaded> {
    return this.books.get(today, async () => {
      const since = new Date(Date.parse(`${windowStart(today)}T00:00:00+08:00`));
      const [rows, calendar] = await Promise.all([
        this.prisma.$queryRaw<
          { code: string; kind: string; parent: string | null; opened: string; decided: string; n: number }[]
        >`
          select s."orgCode" as code, o.kind::text as kind, o."parentCode" as parent,
                 to_char(s."openedAt" + interval '8 hours', 'YYYY-MM-DD') as opened,
                 to_char(s."decidedAt" + interval '8 hours', 'YYYY-MM-DD') as decided,
                 count(*)::int as n
            from "ApplicationStep" s join "Organisation" o on o.code = s."orgCode"
           where s."decidedAt" >= ${since} and s."openedAt" is not null
           group by 1, 2, 3, 4, 5`,
        loadCalendar(this.prisma),
      ]);
      const book = new DurationBook(
        rows.map((r) => ({
          org: placeOf({ code: r.code, kind: r.kind, parentCode: r.parent }),
          days: Math.max(0, calendar.workingDaysBetween(r.opened, r.decided)),
          count: r.n,
        })),
      );
      return { book, calendar };
    });
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

  /**
   * The prediction for a case under review; null for a case that is closed, or back with its applicant (RETURNED:
   * when it comes back depends on the family and the school, not on the holders' pace).
   */
  async forCase(a: PredictableCase, nowMs = Date.now()): Promise<CasePrediction | null> {
    if (a.status !== 'IN_REVIEW' || !a.currentStage) return null;
    const round = a.steps.filter((s) => s.round === a.round).sort((x, y) => x.seq - y.seq);
    const at = round.findIndex((s) => s.stage === a.currentStage);
    const current = round[at];
    if (!current?.openedAt) return null;
    const today = shanghaiDate(nowMs);
    const { book, calendar } = await this.load(today);
    const places = await Promise.all(round.slice(at).map((s) => this.place(s.orgCode)));
    if (places.some((p) => p === null)) return null;
    const p = predictCompletion(book, calendar, {
      today,
      current: { org: places[0]!, openedOn: shanghaiDate(current.openedAt.getTime()) },
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
    this.books.clear();
  }
}
