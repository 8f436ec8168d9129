// What a chaos run does, decided up front from its seed: which cases (pupil, change type, how each ends) and which
// faults (kind, target, when, how long). Nothing here touches a process or the network.
import { createHash } from 'node:crypto';
import { buildChain } from '../domain/chain';
import type { ApplicationStatus, ChangeType, Stage, StudentStatus } from '../domain/types';
import { DEMO_USERS } from '../infra/demo-data';

/** A small seeded generator (mulberry32): the same seed and label always give the same sequence. */
export class Rng {
  private state: number;
  constructor(seed: string | number, label = '') {
    this.state = createHash('sha256').update(`${seed}/${label}`).digest().readUInt32LE(0);
  }
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)];
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [xs[i], xs[j]] = [xs[j], xs[i]];
    }
    return xs;
  }
}

export interface Pupil {
  studentNo: string;
  schoolCode: string;
  countyCode: string;
  status: StudentStatus;
  grade: number;
}

/** How a case is meant to end: every stage approves, or one returns it (then resubmit), rejects it, or it is withdrawn. */
export type Ending =
  | { kind: 'approve' }
  | { kind: 'return'; atStage: number }
  | { kind: 'reject'; atStage: number }
  | { kind: 'withdraw'; afterApprovals: number };

export interface CasePlan {
  index: number;
  type: ChangeType;
  pupil: Pupil;
  /** The clerk who files (the receiving school's for a transfer, else the pupil's school's). */
  applicant: string;
  body: Record<string, unknown>;
  chain: { stage: Stage; orgCode: string; user: string }[];
  ending: Ending;
  expected: ApplicationStatus;
  /** Pause before each step, as a person reading the case would (ms). */
  thinkMs: number[];
}

const userOfOrg = new Map(DEMO_USERS.filter((u) => u.orgCode).map((u) => [u.orgCode!, u.username]));
const SCHOOLS = [...userOfOrg.keys()].filter((c) => c.length === 10);

const dayIso = (offsetDays: number) => new Date(Date.now() + offsetDays * 86_400_000).toISOString().slice(0, 10);

/** The change types besides transfers, with what each needs of the pupil and in `details`. */
const OTHER_TYPES: { type: ChangeType; fits: (p: Pupil) => boolean; details: () => Record<string, unknown> }[] = [
  { type: 'SUSPEND', fits: (p) => p.status === 'ENROLLED', details: () => ({ expectedReturnDate: dayIso(180) }) },
  { type: 'REPEAT_GRADE', fits: (p) => p.status === 'ENROLLED' && p.grade >= 2, details: () => ({}) },
  { type: 'SKIP_GRADE', fits: (p) => p.status === 'ENROLLED' && p.grade < 12, details: () => ({}) },
  { type: 'DROP_OUT', fits: (p) => ['ENROLLED', 'SUSPENDED'].includes(p.status), details: () => ({}) },
  {
    type: 'STUDY_ABROAD',
    fits: (p) => ['ENROLLED', 'SUSPENDED'].includes(p.status),
    details: () => ({ destination: '新加坡' }),
  },
  { type: 'DECEASED', fits: (p) => p.status !== 'DECEASED', details: () => ({ deathDate: dayIso(-10) }) },
  { type: 'RESUME', fits: (p) => p.status === 'SUSPENDED', details: () => ({}) },
];

/**
 * `cases` plans over distinct pupils (one case per pupil, so "moved once" is simple to check): about half transfers
 * (within a county and across), the rest the other change types; most approved at every stage, some returned once and
 * resubmitted, some rejected, some withdrawn. Deterministic in seed and the pupils given.
 */
export function planCases(seed: string | number, cases: number, pupils: Pupil[]): CasePlan[] {
  const rng = new Rng(seed, 'cases');
  const pool = rng.shuffle([...pupils].sort((a, b) => a.studentNo.localeCompare(b.studentNo)));
  if (pool.length < cases) throw new Error(`${cases} cases need ${cases} pupils; the database has ${pool.length}`);
  const plans: CasePlan[] = [];
  for (const pupil of pool) {
    if (plans.length === cases) break;
    const index = plans.length;
    const r = new Rng(seed, `case-${index}`);
    let type: ChangeType;
    let applicantOrg: string;
    let toSchool: { code: string; countyCode: string } | null = null;
    let details: Record<string, unknown> = {};
    const other = OTHER_TYPES.filter((t) => t.fits(pupil));
    if (pupil.status === 'ENROLLED' && (r.chance(0.5) || other.length === 0)) {
      type = 'TRANSFER';
      applicantOrg = r.pick(SCHOOLS.filter((c) => c !== pupil.schoolCode));
      toSchool = { code: applicantOrg, countyCode: applicantOrg.slice(0, 6) };
    } else {
      const t = r.pick(other);
      type = t.type;
      details = t.details();
      applicantOrg = pupil.schoolCode;
    }
    const chain = buildChain(type, { code: pupil.schoolCode, countyCode: pupil.countyCode }, toSchool).map((s) => ({
      ...s,
      user: userOfOrg.get(s.orgCode)!,
    }));
    const roll = r.next();
    const ending: Ending =
      roll < 0.7
        ? { kind: 'approve' }
        : roll < 0.82
          ? { kind: 'return', atStage: r.int(1, chain.length - 1) }
          : roll < 0.9
            ? { kind: 'reject', atStage: r.int(1, chain.length - 1) }
            : { kind: 'withdraw', afterApprovals: r.int(0, chain.length - 1) };
    const expected: ApplicationStatus =
      ending.kind === 'withdraw' ? 'WITHDRAWN' : ending.kind === 'reject' ? 'REJECTED' : 'APPROVED';
    plans.push({
      index,
      type,
      pupil,
      applicant: userOfOrg.get(applicantOrg)!,
      body: {
        type,
        studentNo: pupil.studentNo,
        reason: `压力测试第${index + 1}件`,
        effectiveDate: dayIso(7),
        ...(Object.keys(details).length ? { details } : {}),
      },
      chain,
      ending,
      expected,
      thinkMs: Array.from({ length: 2 * chain.length + 3 }, () => r.int(0, 400)),
    });
  }
  if (plans.length < cases) throw new Error(`only ${plans.length} of ${cases} cases could be planned`);
  return plans;
}

export type FaultKind = 'api' | 'worker' | 'temporal' | 'postgres';
export const FAULT_KINDS: readonly FaultKind[] = ['api', 'worker', 'temporal', 'postgres'];

export interface FaultPlan {
  n: number;
  kind: FaultKind;
  /** worker: which of the two; postgres: `immediate` (SIGQUIT, what `pg_ctl stop -m immediate` sends) or `sigkill`. */
  variant: string;
  /** Quiet time before the fault (ms). */
  gapMs: number;
  /** Time between the kill and the restart (ms). */
  outageMs: number;
}

/** `faults` faults spread evenly over the four kinds (counts differ by at most one), in a seeded order. */
export function planFaults(
  seed: string | number,
  faults: number,
  o: { gapMs: [number, number]; outageMs: [number, number] },
) {
  const rng = new Rng(seed, 'faults');
  const kinds = rng.shuffle(Array.from({ length: faults }, (_, i) => FAULT_KINDS[i % FAULT_KINDS.length]));
  return kinds.map((kind, i): FaultPlan => ({
    n: i + 1,
    kind,
    variant:
      kind === 'worker'
        ? rng.pick(['worker-1', 'worker-2'])
        : kind === 'postgres'
          ? rng.pick(['immediate', 'sigkill'])
          : 'sigkill',
    gapMs: rng.int(o.gapMs[0], o.gapMs[1]),
    outageMs: rng.int(o.outageMs[0], o.outageMs[1]),
  }));
}
