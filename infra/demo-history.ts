// The demo's past (DESIGN.md §4 adds nothing a user relies on; README "Demo data"): about fifty cases completed in the
// nine months before the seed, so the predicted completion of the demo cases comes from the organisations' own
// history for some holders and from the fallback levels for others — as it would a few months into a real rollout:
//
//   红花岗区 (in use for a while)   5203020001 一小: ~31 stages, fast → ORG; 520302 教育局: ~35, slowest → ORG;
//                                   5203020002 二小: ~10 → COUNTY (the county's schools)
//   南江县 (new to the system)      5119220001 实验小学: 14, 5119220002 二小: 9 → COUNTY (23 between them);
//                                   511922 教育局: 17, and no other county bureau in 四川 → PRIOR
//   地市 and 省 bureaus             none (they review only where settings/review-levels.json adds them) → PRIOR
//
// Generated with a fixed seed, dated back from the day of seeding (every stage decided in the last nine months, so the
// levels hold for three months after `npm run seed`). Written straight into the tables as a migration from another
// system would be: cases with their decided steps, the pupils' history lines and records as the approvals left them
// (generated pupils only: the fixed ones of DESIGN.md §4 keep their empty history), the statistics roll-up rebuilt from
// the steps (infra/read-model.ts's function), and one audit entry for the load (infra/seed.ts). The cases are marked as
// having a finished workflow: the reconciler leaves them alone.

import type { Prisma, StudentStatus } from '../generated/prisma/client';
import { CN_WORKING_CALENDAR, endOfShanghaiDay, shanghaiDate, type WorkingCalendar } from '../domain/calendar';
import { buildChain, recordAfter, specOf, type ChainStep, type PupilRecord } from '../domain/change-types';
import type { Decision } from '../domain/types';
import { DEMO_ORGS, DEMO_USERS, FIXED_PUPILS, seededRandom } from './demo-data';

type Tx = Prisma.TransactionClient;

/** The seed of the demo's past: the same cases, durations and pupils on every seeding. */
export const DEMO_HISTORY_SEED = 20261201;
/** Cases are filed at most this many calendar days before the seeding day (and all are decided before it). */
const OLDEST_DAYS = 270;
/** A stage's time limit when the demo's past was made (settings/deadlines.json's default). */
const STAGE_WORKING_DAYS = 10;

/** How fast an organisation decides: most stages take about `median` working days, some the same day. */
interface Pace {
  median: number;
  spread: number;
  sameDay: number;
}
const PACES: Record<string, Pace> = {
  '5203020001': { median: 1, spread: 0.6, sameDay: 0.35 },
  '5203020002': { median: 2, spread: 0.6, sameDay: 0.15 },
  '520302': { median: 5, spread: 0.5, sameDay: 0.05 },
  '5119220001': { median: 2, spread: 0.7, sameDay: 0.2 },
  '5119220002': { median: 1, spread: 0.5, sameDay: 0.3 },
  '511922': { median: 3, spread: 0.6, sameDay: 0.1 },
};

/** What the past holds, by who files it: [type, applicant school, pupil's school, how many, how they end]. */
type Outcome = 'APPROVED' | { rejectedAt: number; comment: string };
const PLAN: { type: 'SUSPEND' | 'RESUME' | 'TRANSFER'; applicant: string; from: string; n: number; end?: Outcome }[] = [
  // 红花岗区: 一小 suspends 14 pupils (two refused by the bureau), 8 of them back later; 二小 suspends 4 and loses 6
  // pupils to 一小; 一小 takes 3 pupils from 南江县实验小学.
  { type: 'SUSPEND', applicant: '5203020001', from: '5203020001', n: 12 },
  {
    type: 'SUSPEND',
    applicant: '5203020001',
    from: '5203020001',
    n: 2,
    end: { rejectedAt: 1, comment: '缺少医院证明，请补充后重新申请' },
  },
  { type: 'RESUME', applicant: '5203020001', from: '5203020001', n: 8 },
  { type: 'SUSPEND', applicant: '5203020002', from: '5203020002', n: 4 },
  { type: 'TRANSFER', applicant: '5203020001', from: '5203020002', n: 6 },
  { type: 'TRANSFER', applicant: '5203020001', from: '5119220001', n: 3 },
  // 南江县: fewer cases so far.
  { type: 'SUSPEND', applicant: '5119220001', from: '5119220001', n: 6 },
  { type: 'SUSPEND', applicant: '5119220002', from: '5119220002', n: 3 },
  {
    type: 'SUSPEND',
    applicant: '5119220002',
    from: '5119220002',
    n: 1,
    end: { rejectedAt: 0, comment: '家长尚未签字确认' },
  },
  { type: 'TRANSFER', applicant: '5119220001', from: '5119220002', n: 5 },
];

const REASONS = {
  SUSPEND: [
    ['01', '因病需住院治疗'],
    ['02', '骨折需居家休养'],
    ['03', '家庭原因，需随家人外出'],
  ],
  RESUME: [
    ['01', '休学期满返校'],
    ['02', '病愈返校'],
  ],
  TRANSFER: [
    ['01', '随父母工作调动'],
    ['02', '家庭住址迁移'],
  ],
} as const;

/** A generated pupil as the past finds and leaves it. */
export interface HistoryPupil {
  studentNo: string;
  schoolCode: string;
  status: StudentStatus;
  grade: number;
}

export interface PlannedStep extends ChainStep {
  seq: number;
  openedAt: Date | null;
  dueAt: Date | null;
  overdueAt: Date | null;
  decision: Decision | null;
  decidedAt: Date | null;
  actor: string | null;
  comment: string | null;
}

export interface PlannedCase {
  key: string;
  type: string;
  studentNo: string;
  fromSchoolCode: string;
  toSchoolCode: string | null;
  applicant: string;
  status: 'APPROVED' | 'REJECTED';
  reasonCode: string;
  reason: string;
  effectiveDate: string;
  details: Record<string, string> | null;
  filedAt: Date;
  closedAt: Date;
  steps: PlannedStep[];
  /** Approved: the record before and after (the history line). */
  change: { before: PupilRecord; after: PupilRecord } | null;
}

function normal(rand: () => number): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

const sampleDays = (pace: Pace, rand: () => number) =>
  rand() < pace.sameDay ? 0 : Math.max(0, Math.min(25, Math.round(pace.median * Math.exp(pace.spread * normal(rand)))));

/** A moment of office hours (China time) on a working day, `minutesFrom` minutes after 08:30 at least. */
const atMinute = (date: string, minute: number) => new Date(Date.parse(`${date}T08:30:00+08:00`) + minute * 60_000);
const minuteOf = (d: Date) =>
  Math.round((d.getTime() - Date.parse(`${shanghaiDate(d.getTime())}T08:30:00+08:00`)) / 60_000);

const addDays = (date: string, n: number) =>
  new Date(Date.parse(`${date}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);

/** The first working day on or after `date`. */
function workingOnOrAfter(cal: WorkingCalendar, date: string): string {
  let d = date;
  while (!cal.isWorkingDay(d)) d = addDays(d, 1);
  return d;
}

/**
 * The demo's past as of `today` (a China date), from the generated pupils (ordered by 学籍号); pure and deterministic.
 * The pupils are updated in place to what the approvals left them; the cases come back in filing order.
 */
export function planDemoHistory(
  pupils: HistoryPupil[],
  today: string,
  cal: WorkingCalendar = CN_WORKING_CALENDAR,
  seed = DEMO_HISTORY_SEED,
): PlannedCase[] {
  const rand = seededRandom(seed);
  const county = new Map<string, string>(DEMO_ORGS.map((o) => [o.code, o.parentCode ?? o.code]));
  const clerk = new Map<string, string>(DEMO_USERS.flatMap((u) => (u.orgCode ? [[u.orgCode, u.username]] : [])));
  const fixed = new Set(FIXED_PUPILS.map((p) => `G${p.idNumber}`));
  const used = new Set<string>();
  const suspendedBy = new Map<string, PlannedCase[]>();
  const cases: PlannedCase[] = [];
  const latest = addDays(today, -1);

  /** The chain's steps from `filedOn`, each stage opening when the one before it is decided. */
  const runChain = (chain: ChainStep[], filedOn: string, startMinute: number, end: Outcome) => {
    let day = workingOnOrAfter(cal, filedOn);
    let minute = startMinute;
    const steps: PlannedStep[] = [];
    let closed = false;
    for (const [i, s] of chain.entries()) {
      if (closed) {
        steps.push({
          ...s,
          seq: i + 1,
          openedAt: null,
          dueAt: null,
          overdueAt: null,
          decision: null,
          decidedAt: null,
          actor: null,
          comment: null,
        });
        continue;
      }
      const openedAt = atMinute(day, minute);
      const due = cal.addWorkingDays(day, STAGE_WORKING_DAYS).date;
      const days = sampleDays(PACES[s.orgCode], rand);
      const decidedOn = days === 0 ? day : cal.addWorkingDays(day, days).date;
      // Same day: within the afternoon after opening; later: any time of the office day.
      const decidedMinute =
        days === 0 ? Math.min(540, minute + 10 + Math.floor(rand() * 180)) : Math.floor(rand() * 520);
      const decidedAt = atMinute(decidedOn, Math.max(decidedMinute, days === 0 ? minute + 1 : 0));
      const dueAt = new Date(endOfShanghaiDay(due));
      const rejected = typeof end === 'object' && end.rejectedAt === i;
      steps.push({
        ...s,
        seq: i + 1,
        openedAt,
        dueAt,
        overdueAt: decidedAt > dueAt ? dueAt : null,
        decision: rejected ? 'REJECT' : 'APPROVE',
        decidedAt,
        actor: clerk.get(s.orgCode) ?? null,
        comment: rejected ? end.comment : null,
      });
      day = decidedOn;
      minute = minuteOf(decidedAt);
      closed = rejected;
    }
    return steps;
  };

  const pick = (school: string, status: StudentStatus) => {
    const free = pupils.filter(
      (p) => p.schoolCode === school && p.status === status && !fixed.has(p.studentNo) && !used.has(p.studentNo),
    );
    if (free.length === 0) throw new Error(`demo history: no pupil left at ${school}`);
    const p = free[Math.floor(rand() * free.length)];
    used.add(p.studentNo);
    return p;
  };

  for (const [row, line] of PLAN.entries()) {
    for (let k = 0; k < line.n; k += 1) {
      const end: Outcome = line.end ?? 'APPROVED';
      let pupil: HistoryPupil;
      let earliest = addDays(today, -OLDEST_DAYS);
      const spec = specOf(line.type);
      const comesBack = spec.from.includes('SUSPENDED');
      if (comesBack) {
        // Back from an approved 休学 of the same school, filed after it closed.
        // The earliest back first: each has time to come back before today.
        const waiting = (suspendedBy.get(line.from) ?? []).sort((a, b) => a.closedAt.getTime() - b.closedAt.getTime());
        const suspended = waiting.shift();
        if (!suspended) throw new Error('demo history: no suspension to come back from');
        pupil = pupils.find((p) => p.studentNo === suspended.studentNo)!;
        earliest = addDays(shanghaiDate(suspended.closedAt.getTime()), 20);
      } else {
        pupil = pick(line.from, 'ENROLLED');
      }
      const receiving = spec.applicant === 'receivingSchool' ? line.applicant : null;
      const chain = buildChain(line.type, {
        pupilSchool: { code: pupil.schoolCode, countyCode: county.get(pupil.schoolCode)! },
        receivingSchool: receiving ? { code: receiving, countyCode: county.get(receiving)! } : null,
      });
      // Filed on a day of the window such that the chain is decided before today (tried again a month earlier).
      const span = Math.max(1, Math.round((Date.parse(latest) - Date.parse(earliest)) / 86_400_000) - 30);
      let filedOn = addDays(earliest, Math.floor(rand() * span));
      let steps = runChain(chain, filedOn, Math.floor(rand() * 420), end);
      const late = () => steps.some((s) => s.decidedAt && shanghaiDate(s.decidedAt.getTime()) > latest);
      for (let tries = 0; late(); tries += 1) {
        if (tries > 12) throw new Error('demo history: a case does not fit before today');
        // Earlier in the window; a return from 休学 only at other durations (never before the 休学 closed).
        if (!comesBack) filedOn = addDays(filedOn, -30);
        steps = runChain(chain, filedOn, Math.floor(rand() * 420), end);
      }
      const decided = steps.filter((s) => s.decidedAt);
      const closedAt = decided[decided.length - 1].decidedAt!;
      const [reasonCode, reason] = REASONS[line.type][Math.floor(rand() * REASONS[line.type].length)];
      const filedAt = steps[0].openedAt!;
      const effectiveDate = shanghaiDate(filedAt.getTime());
      // The type's own dates (休学's expected return) a few months on.
      const dates = spec.fields.filter((f) => f.kind === 'date' && f.required);
      const details = dates.length
        ? Object.fromEntries(dates.map((f) => [f.name, addDays(effectiveDate, 90 + Math.floor(rand() * 90))]))
        : null;
      const before: PupilRecord = { schoolCode: pupil.schoolCode, status: pupil.status, grade: pupil.grade };
      const approved = end === 'APPROVED';
      const after = approved ? recordAfter(line.type, before, { toSchoolCode: receiving, details }) : before;
      const c: PlannedCase = {
        key: `demo-history-${row + 1}-${k + 1}`,
        type: line.type,
        studentNo: pupil.studentNo,
        fromSchoolCode: pupil.schoolCode,
        toSchoolCode: receiving,
        applicant: line.applicant,
        status: approved ? 'APPROVED' : 'REJECTED',
        reasonCode,
        reason,
        effectiveDate,
        details,
        filedAt,
        closedAt,
        steps,
        change: approved ? { before, after } : null,
      };
      Object.assign(pupil, after);
      if (approved && after.status === 'SUSPENDED')
        suspendedBy.set(line.from, [...(suspendedBy.get(line.from) ?? []), c]);
      cases.push(c);
    }
  }
  return cases.sort((a, b) => a.filedAt.getTime() - b.filedAt.getTime() || a.key.localeCompare(b.key));
}

export interface DemoHistoryCounts {
  cases: number;
  stages: number;
  historyLines: number;
  /** First and last China day a case was filed. */
  from: string | null;
  to: string | null;
}

/**
 * Writes the demo's past into a database holding the demo organisations, users and pupils (infra/seed.ts calls it in
 * its transaction): the cases, their steps, the pupils' history lines and records, and the roll-up rebuilt.
 */
export async function loadDemoHistory(tx: Tx, today = shanghaiDate(Date.now())): Promise<DemoHistoryCounts> {
  const fixed = FIXED_PUPILS.map((p) => `G${p.idNumber}`);
  const pupils: HistoryPupil[] = await tx.student.findMany({
    where: { studentNo: { notIn: fixed } },
    select: { studentNo: true, schoolCode: true, status: true, grade: true },
    orderBy: { studentNo: 'asc' },
  });
  const cases = planDemoHistory(pupils, today);
  const users = new Map(
    (await tx.user.findMany({ select: { id: true, username: true, displayName: true } })).map((u) => [u.username, u]),
  );
  const orgName = new Map<string, string>(DEMO_ORGS.map((o) => [o.code, o.name]));
  const clerkOf = (org: string) => {
    const name = DEMO_USERS.find((u) => u.orgCode === org)!.username;
    return users.get(name)!;
  };

  const rows = await tx.application.createManyAndReturn({
    data: cases.map((c) => ({
      type: c.type,
      studentNo: c.studentNo,
      fromSchoolCode: c.fromSchoolCode,
      toSchoolCode: c.toSchoolCode,
      applicantOrgCode: c.applicant,
      status: c.status,
      reason: c.reason,
      reasonCode: c.reasonCode,
      effectiveDate: new Date(`${c.effectiveDate}T00:00:00Z`),
      details: c.details ?? undefined,
      workflowId: c.key,
      // No workflow runs for the past: marked started and finished, so the reconciler leaves the cases alone.
      workflowStartedAt: c.filedAt,
      workflowClosedAt: c.closedAt,
      createdById: clerkOf(c.applicant).id,
      closedAt: c.closedAt,
      createdAt: c.filedAt,
      updatedAt: c.closedAt,
    })),
    select: { id: true, workflowId: true },
  });
  const idOf = new Map(rows.map((r) => [r.workflowId, r.id]));
  await tx.applicationStep.createMany({
    data: cases.flatMap((c) =>
      c.steps.map((s) => {
        const actor = s.actor ? users.get(s.actor) : undefined;
        return {
          applicationId: idOf.get(c.key)!,
          round: 1,
          seq: s.seq,
          stage: s.stage,
          orgCode: s.orgCode,
          openedAt: s.openedAt,
          dueAt: s.dueAt,
          overdueAt: s.overdueAt,
          decision: s.decision,
          actorId: actor?.id ?? null,
          actorName: actor?.displayName ?? null,
          comment: s.comment,
          decidedAt: s.decidedAt,
        };
      }),
    ),
  });
  const approved = cases.filter((c) => c.change);
  await tx.studentHistory.createMany({
    data: approved.map((c) => ({
      studentNo: c.studentNo,
      applicationId: idOf.get(c.key)!,
      type: c.type,
      effectiveDate: new Date(`${c.effectiveDate}T00:00:00Z`),
      fromSchoolCode: c.change!.before.schoolCode,
      toSchoolCode: c.change!.after.schoolCode,
      fromStatus: c.change!.before.status,
      toStatus: c.change!.after.status,
      fromGrade: c.change!.before.grade,
      toGrade: c.change!.after.grade,
      approvedBy: c.steps.map((s) => orgName.get(s.orgCode) ?? s.orgCode),
      createdAt: c.closedAt,
    })),
  });
  // Each pupil as its last approved change left it.
  const final = new Map(approved.map((c) => [c.studentNo, c.change!.after]));
  for (const [studentNo, r] of final) {
    await tx.student.update({
      where: { studentNo },
      data: { schoolCode: r.schoolCode, status: r.status, grade: r.grade },
    });
  }
  await tx.$executeRaw`select xueji_rebuild_stage_rollup()`;
  const days = cases.map((c) => shanghaiDate(c.filedAt.getTime()));
  return {
    cases: cases.length,
    stages: cases.reduce((n, c) => n + c.steps.filter((s) => s.decidedAt).length, 0),
    historyLines: approved.length,
    from: days[0] ?? null,
    to: days[days.length - 1] ?? null,
  };
}
