import { randomUUID } from 'node:crypto';
import cnPublicHolidays from '../../domain/calendar-data/cn-public-holidays.json';
import type { YearArrangement } from '../../domain/calendar';
import type { Actor } from '../../domain/types';
import { appendAudit, type AuditActor } from '../../infra/audit';
import { changeDueUpdate } from '../../workflows/messages';
import type { AppDeps } from '../app';
import { HttpError } from '../errors';
import { applicationInclude } from './applications';
import { sendUpdate } from './updates';

const BUILTIN = cnPublicHolidays.years as Record<string, YearArrangement>;

const count = (a: YearArrangement) => ({
  holidays: a.holidays.reduce((n, h) => n + h.dates.length, 0),
  workdays: a.workdays.length,
});

/** Which years the working calendar knows: shipped with the code, or loaded by an administrator (which wins). */
export async function calendarOverview(prisma: AppDeps['prisma']) {
  const [rows, provisionalOpenCases] = await Promise.all([
    prisma.calendarYear.findMany({ orderBy: { year: 'asc' } }),
    prisma.application.count({
      where: { status: 'IN_REVIEW', steps: { some: { decision: null, dueProvisional: true, dueAt: { not: null } } } },
    }),
  ]);
  const years = new Map<number, ReturnType<typeof entry>>();
  const entry = (year: number, a: YearArrangement, origin: 'builtin' | 'loaded', loadedAt: Date | null) => ({
    year,
    origin,
    source: a.source ?? null,
    ...count(a),
    loadedAt: loadedAt?.toISOString() ?? null,
  });
  for (const [y, a] of Object.entries(BUILTIN)) years.set(Number(y), entry(Number(y), a, 'builtin', null));
  for (const r of rows)
    years.set(r.year, entry(r.year, r.arrangement as unknown as YearArrangement, 'loaded', r.loadedAt));
  return { years: [...years.values()].sort((a, b) => a.year - b.year), provisionalOpenCases };
}

/**
 * After a year was loaded: every open case whose current due date was provisional asks its workflow to recompute
 * it (an Update, so the timers move with it). One failing case does not stop the others; returns how many moved.
 */
export async function recomputeProvisional(
  deps: Pick<AppDeps, 'prisma' | 'temporal' | 'config' | 'logger'>,
  actor: Actor,
  year: number,
): Promise<number> {
  const cases = await deps.prisma.application.findMany({
    where: { status: 'IN_REVIEW', steps: { some: { decision: null, dueProvisional: true, dueAt: { not: null } } } },
    include: applicationInclude,
  });
  const load = randomUUID();
  let recomputed = 0;
  let next = 0;
  // A few at a time: late in the year hundreds of open cases may be provisional.
  const work = async () => {
    while (next < cases.length) {
      const app = cases[next++];
      if (!app.currentStage) continue;
      try {
        await sendUpdate(
          deps,
          app,
          changeDueUpdate,
          { stage: app.currentStage, reason: `载入 ${year} 年节假日安排后重算`, actor },
          `recompute:${app.id}:${app.round}:${app.currentStage}:${load}`,
        );
        recomputed += 1;
      } catch (e) {
        deps.logger.warn(
          { applicationId: app.id, err: e instanceof HttpError ? e.message : String(e) },
          'provisional due date not recomputed',
        );
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, work));
  return recomputed;
}

/** Stores (or replaces) one year's holiday arrangement, audited as calendar.load, in one transaction. */
export function loadCalendarYear(prisma: AppDeps['prisma'], u: AuditActor, year: number, arrangement: YearArrangement) {
  return prisma.$transaction(async (tx) => {
    await tx.calendarYear.upsert({
      where: { year },
      create: { year, arrangement: arrangement as object, loadedById: u.userId },
      update: { arrangement: arrangement as object, loadedById: u.userId, loadedAt: new Date() },
    });
    await appendAudit(tx, {
      actor: { userId: u.userId, displayName: u.displayName, orgCode: u.orgCode },
      action: 'calendar.load',
      entityType: 'calendar',
      entityId: year,
      details: {
        year,
        source: arrangement.source ?? null,
        holidays: arrangement.holidays.map((h) => h.name),
        workdays: arrangement.workdays,
      },
    });
  });
}
