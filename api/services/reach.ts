import type { Prisma } from '../../generated/prisma/client';
import { appendAudit } from '../../infra/audit';
import type { PrismaClient } from '../../infra/db';
import { maskStudentNoToRegion } from '../../domain/id-number';
import { TRANSFER_AFTERCARE_DAYS, withinReach, type CaseFacts, type ReachCaller } from '../../domain/reach';
import { MOVING_TYPES } from '../../domain/change-types';
import { OPEN_STATUSES, type ApplicationStatus } from '../../domain/types';
import { auditActorOf, type AuthUser } from '../auth';
import { tooManyRequests } from '../errors';

// Who may see which pupil's identity (DESIGN §5 "Reach"): the facts from Postgres, the rule in domain/reach.ts.
// Also the limit on guessing: a 学籍号 typed by a clerk for a pupil outside her reach is checked as a match, and
// failed matches are limited per user and audited.

type Db = PrismaClient | Prisma.TransactionClient;

/** Above a county: its 地市 and that 地市's province (a school's parent's parent and the one above). */
const UP = { parentCode: true, parent: { select: { parentCode: true } } } as const;
type Up = { parentCode: string | null; parent: { parentCode: string | null } | null } | null;
const higherOf = (county: Up): string[] =>
  [county?.parentCode, county?.parent?.parentCode].filter((c): c is string => !!c);

/** The pupils (by 学籍号) within one caller's reach, among those asked about. */
export class Reach {
  constructor(
    private readonly within: ReadonlySet<string>,
    private readonly everyone = false,
  ) {}
  has(studentNo: string): boolean {
    return this.everyone || this.within.has(studentNo);
  }
  static readonly all = new Reach(new Set(), true);
  static readonly none = new Reach(new Set());
}

/**
 * Which of `studentNos` are within the caller's reach, in three queries whatever their number: the pupils with their
 * school's county, the cases about them that can give reach (open, or transfers approved within the aftercare
 * window) with the organisations whose stage was reached, and the sending schools' counties.
 */
export async function reachOf(
  prisma: Db,
  caller: ReachCaller,
  studentNos: readonly string[],
  now = new Date(),
): Promise<Reach> {
  if (caller.role === 'ADMIN') return Reach.all;
  const wanted = [...new Set(studentNos)];
  if (!caller.orgCode || wanted.length === 0) return Reach.none;
  const since = new Date(now.getTime() - TRANSFER_AFTERCARE_DAYS * 86_400_000);
  const [pupils, cases] = await Promise.all([
    prisma.student.findMany({
      where: { studentNo: { in: wanted } },
      select: { studentNo: true, schoolCode: true, school: { select: { parentCode: true, parent: { select: UP } } } },
    }),
    prisma.application.findMany({
      where: {
        studentNo: { in: wanted },
        OR: [
          { status: { in: OPEN_STATUSES } },
          { type: { in: MOVING_TYPES }, status: 'APPROVED', closedAt: { gte: since } },
        ],
      },
      select: {
        studentNo: true,
        type: true,
        status: true,
        applicantOrgCode: true,
        fromSchoolCode: true,
        closedAt: true,
        steps: { where: { openedAt: { not: null } }, select: { orgCode: true } },
      },
    }),
  ]);
  const fromSchools = [...new Set(cases.map((c) => c.fromSchoolCode))];
  const counties = new Map(
    fromSchools.length
      ? (
          await prisma.organisation.findMany({
            where: { code: { in: fromSchools } },
            select: { code: true, parentCode: true, parent: { select: UP } },
          })
        ).map((o) => [o.code, { county: o.parentCode, higher: higherOf(o.parent) }])
      : [],
  );
  const casesOf = new Map<string, CaseFacts[]>();
  for (const c of cases) {
    const list = casesOf.get(c.studentNo) ?? [];
    list.push({
      type: c.type,
      status: c.status,
      applicantOrgCode: c.applicantOrgCode,
      reachedOrgCodes: c.steps.map((s) => s.orgCode),
      fromSchoolCode: c.fromSchoolCode,
      fromCountyCode: counties.get(c.fromSchoolCode)?.county ?? null,
      fromHigherCodes: counties.get(c.fromSchoolCode)?.higher ?? [],
      closedAt: c.closedAt,
    });
    casesOf.set(c.studentNo, list);
  }
  const within = new Set(
    pupils
      .filter((p) =>
        withinReach(
          caller,
          { schoolCode: p.schoolCode, countyCode: p.school.parentCode, higherCodes: higherOf(p.school.parent) },
          casesOf.get(p.studentNo) ?? [],
          now,
        ),
      )
      .map((p) => p.studentNo),
  );
  return new Reach(within);
}

/** What `reachOfCaseAlone` reads of a case as api/services/applications.ts loads it. */
export interface CaseRow {
  type: string;
  status: ApplicationStatus;
  applicantOrgCode: string;
  fromSchoolCode: string;
  closedAt: Date | null;
  student: { studentNo: string; schoolCode: string };
  steps: readonly { openedAt: Date | null; org: { code: string } }[];
}

/**
 * The caller's reach over one case's pupil from that case alone, with no query: for answering an Update when Postgres
 * cannot be asked. The same rule, over the facts the case itself carries; those it lacks (the bureaus above a school,
 * the pupil's other cases) count as absent, so it can say "not within" where `reachOf` says "within" — the answer then
 * shows less than the case page would, never more.
 */
export function reachOfCaseAlone(caller: ReachCaller, a: CaseRow, now = new Date()): Reach {
  const facts: CaseFacts = {
    type: a.type,
    status: a.status,
    applicantOrgCode: a.applicantOrgCode,
    reachedOrgCodes: a.steps.filter((s) => s.openedAt !== null).map((s) => s.org.code),
    fromSchoolCode: a.fromSchoolCode,
    fromCountyCode: null,
    closedAt: a.closedAt,
  };
  const within = withinReach(caller, { schoolCode: a.student.schoolCode, countyCode: null }, [facts], now);
  return within ? new Reach(new Set([a.student.studentNo])) : Reach.none;
}

/** Is this one pupil within the caller's reach? */
export async function isWithinReach(prisma: Db, caller: ReachCaller, studentNo: string): Promise<boolean> {
  return (await reachOf(prisma, caller, [studentNo])).has(studentNo);
}

/** Failed 学籍号 matches allowed per user in any hour; the next attempt is refused (429) even when it is right. */
export const MATCH_FAILURES_PER_HOUR = 10;
const WINDOW_MS = 3_600_000;
/** Advisory-lock namespace ('mtch') for one user's attempts: concurrent guesses are counted one after another. */
const LOCK_NAMESPACE = 0x6d746368;

export interface MatchAttempt {
  /** Where the number was typed: the match endpoint, filing a case, registering a pupil. */
  via: 'match' | 'application' | 'register';
  studentNo: string;
  schoolCode?: string;
  name?: string;
}

/**
 * Runs one check of a typed 学籍号 under the guessing limit, atomically for the user (an advisory lock held by the
 * transaction, so parallel requests and several API processes count the same): 429 with Retry-After when the user
 * already failed MATCH_FAILURES_PER_HOUR times in the last hour — whether or not this attempt would succeed —
 * otherwise `check` runs, and when it returns `ok: false` the failure is recorded and audited (the number masked to
 * its region) in the same transaction. Returns what `check` returned.
 */
export async function guardedMatch<T extends { ok: boolean }>(
  prisma: PrismaClient,
  u: AuthUser,
  attempt: MatchAttempt,
  check: (tx: Prisma.TransactionClient) => Promise<T>,
  now = new Date(),
): Promise<T> {
  const windowStart = new Date(now.getTime() - WINDOW_MS);
  const outcome = await prisma.$transaction(async (tx) => {
    await tx.$executeRaw`select pg_advisory_xact_lock(${LOCK_NAMESPACE}::int, ${u.userId}::int)`;
    const recent = await tx.matchFailure.findMany({
      where: { userId: u.userId, at: { gt: windowStart } },
      orderBy: { at: 'asc' },
      select: { at: true },
    });
    if (recent.length >= MATCH_FAILURES_PER_HOUR) {
      const freeAt = recent[recent.length - MATCH_FAILURES_PER_HOUR].at.getTime() + WINDOW_MS;
      return { refused: true, retryAfter: (freeAt - now.getTime()) / 1000 } as const;
    }
    const result = await check(tx);
    if (!result.ok) {
      await tx.matchFailure.deleteMany({ where: { userId: u.userId, at: { lte: windowStart } } });
      await tx.matchFailure.create({ data: { userId: u.userId, at: now } });
      await appendAudit(tx, {
        actor: auditActorOf(u),
        action: 'student.match_failed',
        entityType: 'student',
        entityId: maskStudentNoToRegion(attempt.studentNo),
        details: {
          via: attempt.via,
          username: u.username,
          studentNo: maskStudentNoToRegion(attempt.studentNo),
          ...(attempt.schoolCode ? { schoolCode: attempt.schoolCode } : {}),
          ...(attempt.name ? { name: attempt.name } : {}),
          failuresThisHour: recent.length + 1,
        },
      });
    }
    return { refused: false, result } as const;
  });
  if (outcome.refused) {
    throw tooManyRequests(
      `一小时内学籍号核对失败已达 ${MATCH_FAILURES_PER_HOUR} 次，请 ${Math.max(1, Math.ceil(outcome.retryAfter / 60))} 分钟后再试；` +
        '请按家长提供的证件仔细核对学籍号',
      outcome.retryAfter,
    );
  }
  return outcome.result;
}
