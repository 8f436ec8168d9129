import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { Prisma } from '../../generated/prisma/client';
import { appendAudit } from '../../infra/audit';
import { applyRollup } from '../../infra/rollup';
import { TtlCache } from '../../infra/ttl-cache';
import { isUniqueViolation, type PrismaClient } from '../../infra/db';
import { onPool, poolOf, transaction, type RawSql } from '../../infra/sql';
import type { ChainStep } from '../../domain/chain';
import { asChangeType, specOf, type LevelOrg } from '../../domain/change-types';
import { levelsFor, NO_REVIEW_LEVELS, type ReviewLevel, type ReviewLevelSettings } from '../../domain/review-levels';
import { maskStudentNoToRegion } from '../../domain/id-number';
import { studentNoAsSeen, textAsSeen } from '../../domain/reach';
import { isoDay } from '../schemas/common';
import { CHANGE_TYPE_LABELS } from '../../domain/labels';
import { checkChangeLegal } from '../../domain/status-machine';
import { checkProvinceRules, DEFAULT_RULES, type ProvinceRules } from '../../domain/rules';
import { isOpenStatus, OPEN_STATUSES, type ChangeType, type Stage } from '../../domain/types';
import type { applicationWorkflow } from '../../workflows/application';
import { syncUpdate, WORKFLOW_ID_PREFIX, type ApplicationWorkflowInput } from '../../workflows/messages';
import type { AuthUser } from '../auth';
import { badRequest, conflict, forbidden, notFound, ruleViolation } from '../errors';
import type { ReasonCodes } from '../../domain/reason-codes';
import { guardedMatch, Reach, reachOf } from './reach';
import { newCredential } from './public-access';

export const applicationInclude = {
  student: { select: { studentNo: true, name: true, schoolCode: true } },
  steps: { include: { org: { select: { code: true, name: true } } }, orderBy: [{ round: 'asc' }, { seq: 'asc' }] },
  reversals: { select: { id: true, status: true, createdAt: true, closedAt: true }, orderBy: { id: 'desc' }, take: 1 },
} satisfies Prisma.ApplicationInclude;

export type ApplicationRow = Prisma.ApplicationGetPayload<{ include: typeof applicationInclude }>;
type StepRow = ApplicationRow['steps'][number];
type ReversalRow = ApplicationRow['reversals'][number];
/** A reversal as json_build_object gives it: its times as text (UTC, without zone, as Prisma writes them). */
type ReversalJson = Omit<ReversalRow, 'createdAt' | 'closedAt'> & { createdAt: string; closedAt: string | null };

/** A `timestamp` column's text inside JSON ('2026-12-01T08:00:00.123'), which holds UTC, as a Date. */
const utcFromJson = (t: string) => new Date(`${t}Z`);

/**
 * The cases with these ids as `findMany({ include: applicationInclude })` reads them, in any order, from two
 * statements on `pg` (the cases with their pupils and latest reversal; their steps with the organisations' names):
 * 待办 and every request about one case read them, and Prisma's mapping of the rows cost more CPU than the queries
 * themselves. The pupil, the reversal and each step's organisation come as JSON objects built in SQL, so each row
 * from `pg` is the case or step itself, not copied into another object (a page of 待办 is 50 cases and their steps).
 * With `seenBy` (readableOrgs: null for all) only the cases those organisations may see (visibleTo).
 */
export async function applicationRowsById(
  prisma: PrismaClient,
  ids: number[],
  seenBy: string[] | null = null,
): Promise<ApplicationRow[]> {
  if (ids.length === 0) return [];
  const db = onPool(poolOf(prisma));
  // On the pool the two statements run side by side, each on a free connection.
  return rowsOf(await Promise.all([casesById(db, ids, seenBy), stepsById(db, ids)]));
}

/**
 * The same rows read in a transaction: the two statements one after the other on its connection (a connection runs
 * one statement at a time), so the reader holds no second connection.
 */
export async function applicationRowsIn(tx: Pick<RawSql, '$queryRaw'>, ids: number[]): Promise<ApplicationRow[]> {
  if (ids.length === 0) return [];
  const cases = await casesById(tx, ids, null);
  return rowsOf([cases, await stepsById(tx, ids)]);
}

type CaseRow = Omit<ApplicationRow, 'steps' | 'reversals'> & { reversals: ReversalJson[] };

const casesById = (db: Pick<RawSql, '$queryRaw'>, ids: number[], seenBy: string[] | null) =>
  db.$queryRaw<CaseRow[]>`
      select a.*, json_build_object('studentNo', s."studentNo", 'name', s.name, 'schoolCode', s."schoolCode") as student,
             coalesce((select json_build_array(json_build_object('id', x.id, 'status', x.status,
                                                                 'createdAt', x."createdAt", 'closedAt', x."closedAt"))
                         from "Application" x where x."reversesId" = a.id order by x.id desc limit 1),
                      '[]'::json) as reversals
        from "Application" a
        join "Student" s on s."studentNo" = a."studentNo"
       where a.id = any(${ids}::int[])
         and (${seenBy}::text[] is null or a."applicantOrgCode" = any(${seenBy}::text[])
              or exists (select 1 from "ApplicationStep" v
                          where v."applicationId" = a.id and v."orgCode" = any(${seenBy}::text[])
                            and v."openedAt" is not null))`;

const stepsById = (db: Pick<RawSql, '$queryRaw'>, ids: number[]) =>
  db.$queryRaw<StepRow[]>`
      select st.*, json_build_object('code', o.code, 'name', o.name) as org
        from "ApplicationStep" st join "Organisation" o on o.code = st."orgCode"
       where st."applicationId" = any(${ids}::int[])
       order by st."applicationId", st.round, st.seq`;

/** The cases with their steps attached and their latest reversal's times as Dates. */
function rowsOf([cases, steps]: [CaseRow[], StepRow[]]): ApplicationRow[] {
  const stepsOf = new Map<number, StepRow[]>();
  for (const step of steps) {
    const list = stepsOf.get(step.applicationId);
    if (list) list.push(step);
    else stepsOf.set(step.applicationId, [step]);
  }
  const rows = cases as unknown as ApplicationRow[];
  for (const a of rows) {
    a.steps = stepsOf.get(a.id) ?? [];
    // At most one reversal is listed (the latest), and few cases have one.
    if (a.reversals.length > 0) {
      a.reversals = (a.reversals as unknown as ReversalJson[]).map((r) => ({
        id: r.id,
        status: r.status,
        createdAt: utcFromJson(r.createdAt),
        closedAt: r.closedAt === null ? null : utcFromJson(r.closedAt),
      }));
    }
  }
  return rows;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** Organisation names, cached for the life of the process (organisations are rarely renamed). */
export class OrgDirectory {
  private names = new Map<string, string>();
  constructor(private readonly prisma: PrismaClient) {}
  async name(code: string): Promise<string> {
    const cached = this.names.get(code);
    if (cached) return cached;
    const org = await this.prisma.organisation.findUnique({ where: { code } });
    // A miss is not cached: an organisation imported later must show its name.
    if (org) this.names.set(code, org.name);
    return org?.name ?? code;
  }
  async ref(code: string | null) {
    return code ? { code, name: await this.name(code) } : null;
  }
}

/**
 * The Application JSON of the API contract. Only the current round's steps are listed. The 学籍号 ('G' + the pupil's
 * ID number) is shown as the caller's reach allows (domain/reach.ts): whole in a single case within reach, masked to
 * region + last four in lists, and to the region alone outside reach (e.g. to the applicant after a withdrawal).
 */
export async function toApplicationDto(
  a: ApplicationRow,
  orgs: Pick<OrgDirectory, 'ref'>,
  view: 'detail' | 'list',
  reach: Reach,
) {
  const within = reach.has(a.student.studentNo);
  const studentNo = studentNoAsSeen(a.student.studentNo, within, view);
  const stepDto = (s: ApplicationRow['steps'][number]) => ({
    stage: s.stage,
    org: { code: s.org.code, name: s.org.name },
    decision: s.decision,
    actor: s.actorName,
    comment: textAsSeen(s.comment, within),
    openedAt: iso(s.openedAt),
    decidedAt: iso(s.decidedAt),
    dueAt: iso(s.dueAt),
    dueProvisional: s.dueProvisional,
    remindersSent: s.remindersSent,
    escalatedAt: iso(s.escalatedAt),
  });
  const now = Date.now();
  const open = a.status === 'IN_REVIEW' ? a.steps.find((s) => s.round === a.round && s.stage === a.currentStage) : null;
  const earlier = [...new Set(a.steps.filter((s) => s.round < a.round).map((s) => s.round))];
  // Every organisation a case names is one of its steps' (read with them); the directory is the fallback.
  const ref = async (code: string | null) => {
    const step = code ? a.steps.find((s) => s.org.code === code) : undefined;
    return step ? { code: step.org.code, name: step.org.name } : orgs.ref(code);
  };
  return {
    id: a.id,
    type: a.type,
    status: a.status,
    student: { studentNo, name: a.student.name, schoolCode: a.student.schoolCode },
    fromSchool: (await ref(a.fromSchoolCode))!,
    toSchool: await ref(a.toSchoolCode),
    currentStage: a.currentStage,
    currentOrg: await ref(a.currentOrgCode),
    reason: textAsSeen(a.reason, within),
    reasonCode: a.reasonCode,
    effectiveDate: isoDay(a.effectiveDate),
    details: detailsAsSeen((a.details as Record<string, unknown> | null) ?? null, within),
    closeReason: textAsSeen(a.closeReason, within),
    round: a.round,
    // The current stage is past its due time, and whether it has been escalated.
    overdue: !!open?.dueAt && open.dueAt.getTime() < now,
    escalated: !!open?.escalatedAt,
    steps: a.steps.filter((s) => s.round === a.round).map(stepDto),
    // Rounds before a RETURN, kept as they were: who returned the case, and why.
    earlierRounds: earlier.map((round) => ({ round, steps: a.steps.filter((s) => s.round === round).map(stepDto) })),
    reverses: a.reversesId === null ? null : { id: a.reversesId },
    reversal: a.reversals[0]
      ? {
          id: a.reversals[0].id,
          status: a.reversals[0].status,
          createdAt: a.reversals[0].createdAt.toISOString(),
          closedAt: iso(a.reversals[0].closedAt),
        }
      : null,
    createdAt: a.createdAt.toISOString(),
    updatedAt: a.updatedAt.toISOString(),
  };
}

const detailsAsSeen = (details: Record<string, unknown> | null, within: boolean) =>
  details && !within
    ? Object.fromEntries(Object.entries(details).map(([k, v]) => [k, typeof v === 'string' ? textAsSeen(v, false) : v]))
    : details;

/**
 * Cases as the caller sees them, with the caller's reach computed once for all of them. A party to an open case — its
 * applicant, or an organisation whose stage it has reached (every case of 待办, the case a decision was just made on)
 * — is within the pupil's reach by the rule itself: only the other pupils cost a query.
 */
export async function toApplicationDtos(
  prisma: PrismaClient,
  u: AuthUser,
  rows: ApplicationRow[],
  orgs: Pick<OrgDirectory, 'ref'>,
  view: 'detail' | 'list' = 'list',
) {
  const party = (a: ApplicationRow) =>
    u.orgCode !== null &&
    isOpenStatus(a.status) &&
    (a.applicantOrgCode === u.orgCode || a.steps.some((s) => s.org.code === u.orgCode && s.openedAt !== null));
  const others = rows.filter((a) => !party(a)).map((a) => a.student.studentNo);
  const reached = others.length ? await reachOf(prisma, u, others) : Reach.none;
  const reach = new Reach(new Set(rows.filter(party).map((a) => a.student.studentNo)));
  const seen = { has: (studentNo: string) => reach.has(studentNo) || reached.has(studentNo) } as Reach;
  return Promise.all(rows.map((a) => toApplicationDto(a, orgs, view, seen)));
}

/** One case as the caller sees it. */
export async function toApplicationDtoFor(
  prisma: PrismaClient,
  u: AuthUser,
  a: ApplicationRow,
  orgs: Pick<OrgDirectory, 'ref'>,
) {
  return (await toApplicationDtos(prisma, u, [a], orgs, 'detail'))[0];
}

/**
 * The organisations whose cases a user may read: her own; for a bureau (county, 地市 or 省), also every organisation
 * under it in the tree — a county's schools, a 地市's counties and their schools, a province's 地市, counties and
 * schools (DESIGN §5 "Reach"). Admins read everything (null).
 */
export async function readableOrgs(prisma: PrismaClient, u: AuthUser): Promise<string[] | null> {
  if (u.role === 'ADMIN') return null;
  if (!u.orgCode) return [];
  if (u.role === 'COUNTY_OFFICER') {
    const bureau = u.orgCode;
    return bureauOrgs.get(bureau, async () => {
      const all = [bureau];
      // Province → 地市 → county → school: at most three levels below a bureau.
      for (let level = [bureau], depth = 0; level.length > 0 && depth < 3; depth++) {
        const below = await prisma.organisation.findMany({
          where: { parentCode: { in: level } },
          select: { code: true },
        });
        level = below.map((o) => o.code);
        all.push(...level);
      }
      return all;
    });
  }
  return [u.orgCode];
}

/** The organisations under a bureau change by import only: read at most every 5 s (DESIGN §5 "Caches of who may act"). */
const bureauOrgs = new TtlCache<string, string[]>(5_000);

/**
 * A case is visible to the applicant and to each organisation whose stage has been reached — never
 * before: a sending school cannot see a transfer until it is its turn. `applicationRowsById` writes the same rule
 * in SQL for its `seenBy` (test/sql.test.ts checks it).
 */
export function visibleTo(orgs: string[] | null): Prisma.ApplicationWhereInput {
  if (orgs === null) return {};
  return {
    OR: [{ applicantOrgCode: { in: orgs } }, { steps: { some: { orgCode: { in: orgs }, openedAt: { not: null } } } }],
  };
}

/** Loads a case the caller may see, or 404 (not 403, so ids do not leak). */
export async function loadVisibleApplication(prisma: PrismaClient, u: AuthUser, id: number): Promise<ApplicationRow> {
  const [app] = await applicationRowsById(prisma, [id], await readableOrgs(prisma, u));
  if (!app) throw notFound(`没有找到编号为 ${id} 的业务，或您无权查看`);
  return app;
}

/**
 * 409 naming the pupil's open case, also as `applicationId`: a client whose filing got no answer (a network error,
 * a 5xx) sends it again and learns from this which case its first attempt created.
 */
export function openCaseConflict(id: number) {
  return Object.assign(conflict(`该学生已有在办业务（编号 ${id}），办结或撤销后才能再申请`), {
    extensions: { applicationId: id },
  });
}

export interface CreateApplicationInput {
  type: ChangeType;
  studentNo: string;
  reason: string;
  reasonCode?: string;
  effectiveDate: string;
  toSchoolCode?: string;
  details?: Record<string, unknown>;
}

/**
 * Writes the case first — row and all its steps, in one transaction guarded by the partial unique
 * index (one open case per pupil) — so nothing a clerk submits depends on Temporal being up.
 */
export async function createApplication(
  prisma: PrismaClient,
  u: AuthUser,
  body: CreateApplicationInput,
  rules: ProvinceRules = DEFAULT_RULES,
  reasonCodes?: ReasonCodes,
  reviewLevels: ReviewLevelSettings = NO_REVIEW_LEVELS,
) {
  if (u.role !== 'SCHOOL_CLERK' || !u.orgCode) throw forbidden('只有学校学籍管理员可以提交异动申请');
  if (body.reasonCode && reasonCodes && !(reasonCodes[body.type] ?? []).some((c) => c.code === body.reasonCode)) {
    const message = `“${CHANGE_TYPE_LABELS[body.type]}”没有代码为 ${body.reasonCode} 的异动原因，请从列表中选择`;
    throw badRequest(message, [{ path: 'reasonCode', message }]);
  }
  const label = CHANGE_TYPE_LABELS[body.type];
  const spec = specOf(body.type);
  const receiving = spec.applicant === 'receivingSchool';
  // The typed 学籍号 is a guess until it names a pupil the clerk may file for: a type the receiving school files (a
  // transfer) may name a pupil of any school, other changes only a pupil within the clerk's reach. Anything else is a
  // failed match — the same 404 whether the pupil exists elsewhere or not, counted and audited (services/reach.ts).
  const { pupil } = await guardedMatch(prisma, u, { via: 'application', studentNo: body.studentNo }, async (tx) => {
    const found = await tx.student.findUnique({ where: { studentNo: body.studentNo }, include: { school: true } });
    const fileable = found && (receiving || (await reachOf(tx, u, [found.studentNo])).has(found.studentNo));
    return { ok: !!fileable, pupil: fileable ? found : null };
  });
  if (!pupil) throw notFound(`没有找到学籍号为 ${maskStudentNoToRegion(body.studentNo)} 的学生，请核对学籍号`);

  let toSchool: { code: string; countyCode: string } | null = null;
  if (receiving) {
    if (body.toSchoolCode && body.toSchoolCode !== u.orgCode) {
      throw ruleViolation(`${label}申请由转入学校提交：转入学校只能是您所在的学校`, [
        { path: 'toSchoolCode', message: '转入学校应为您所在的学校' },
      ]);
    }
    if (pupil.schoolCode === u.orgCode) throw ruleViolation('该学生已在本校就读，不能转入本校');
    toSchool = { code: u.orgCode, countyCode: u.countyCode ?? u.orgCode };
  } else if (pupil.schoolCode !== u.orgCode) {
    throw forbidden(`只能为本校学生办理${label}`);
  }

  const legal = checkChangeLegal(body.type, pupil);
  if (!legal.legal) throw ruleViolation(legal.reason);
  const provincial = checkProvinceRules(body.type, pupil, body, rules);
  if (!provincial.legal) throw ruleViolation(provincial.reason);

  const openCase = () =>
    prisma.application.findFirst({
      where: { studentNo: pupil.studentNo, status: { in: OPEN_STATUSES } },
      select: { id: true },
    });
  const open = await openCase();
  if (open) throw openCaseConflict(open.id);

  const pupilSchool = { code: pupil.schoolCode, countyCode: pupil.school.parentCode ?? pupil.schoolCode };
  const chain = specOf(body.type).chain({
    pupilSchool,
    receivingSchool: toSchool,
    levels: toSchool ? await levelOrgs(prisma, reviewLevels, body.type, pupilSchool, toSchool) : undefined,
  });
  return insertCase(
    prisma,
    u,
    {
      type: body.type,
      studentNo: pupil.studentNo,
      fromSchoolCode: pupil.schoolCode,
      toSchoolCode: toSchool?.code ?? null,
      reason: body.reason,
      reasonCode: body.reasonCode || null,
      effectiveDate: body.effectiveDate,
      details: body.details && Object.keys(body.details).length ? body.details : null,
      reversesId: null,
    },
    chain,
    'application.create',
  );
}

/** A new case's row, as createApplication and createReversal write it. */
export interface NewCase {
  type: string;
  studentNo: string;
  fromSchoolCode: string;
  toSchoolCode: string | null;
  reason: string;
  reasonCode: string | null;
  /** YYYY-MM-DD. */
  effectiveDate: string;
  details: Record<string, unknown> | null;
  reversesId: number | null;
}

/**
 * Writes a new case — row and all its steps, its first stage open, in one transaction guarded by the partial unique
 * index (one open case per pupil) — and its audit event.
 */
export async function insertCase(
  prisma: PrismaClient,
  u: AuthUser,
  c: NewCase,
  chain: ChainStep[],
  action: 'application.create' | 'application.reversal',
) {
  const openCase = () =>
    prisma.application.findFirst({
      where: { studentNo: c.studentNo, status: { in: OPEN_STATUSES } },
      select: { id: true },
    });
  const now = new Date();
  // The family's reference and query code (guardian self-service): the code leaves here once, in the answer.
  const access = newCredential();
  try {
    // On `pg`, one connection throughout: the row and its steps in one statement (Prisma's nested create and the
    // update naming the workflow were eight round trips), the roll-up, the audit entry, then the answer read in the
    // same transaction, one statement after the other.
    const app = await transaction(poolOf(prisma), async (tx) => {
      const [{ id }] = await tx.$queryRaw<{ id: number }[]>`
        with n as (select nextval(pg_get_serial_sequence('"Application"', 'id'))::int as id),
        created as (
          insert into "Application" (id, type, "studentNo", "fromSchoolCode", "toSchoolCode", "applicantOrgCode",
                                     status, "currentStage", "currentOrgCode", reason, "reasonCode", "effectiveDate",
                                     details, "reversesId", "workflowId", "publicRef", "queryCodeHash", "createdById",
                                     "waitingSince", "createdAt", "updatedAt")
          select n.id, ${c.type}, ${c.studentNo}, ${c.fromSchoolCode}, ${c.toSchoolCode}, ${u.orgCode},
                 'IN_REVIEW'::"ApplicationStatus", ${chain[0].stage}::"Stage", ${chain[0].orgCode}, ${c.reason},
                 ${c.reasonCode}, ${c.effectiveDate}::date,
                 ${c.details === null ? null : JSON.stringify(c.details)}::jsonb, ${c.reversesId}::int,
                 ${WORKFLOW_ID_PREFIX} || n.id, ${access.ref}, ${access.codeHash}, ${u.userId}::int,
                 ${now}::timestamp, ${now}::timestamp, ${now}::timestamp
            from n
          returning id),
        steps as (
          insert into "ApplicationStep" ("applicationId", round, seq, stage, "orgCode", "openedAt")
          select created.id, 1, s.seq, s.stage::"Stage", s.org, case when s.seq = 1 then ${now}::timestamp end
            from created, unnest(${chain.map((x) => x.stage)}::text[], ${chain.map((x) => x.orgCode)}::text[])
                          with ordinality as s(stage, org, seq))
        select id from created`;
      await applyRollup(tx, [{ stage: chain[0].stage, orgCode: chain[0].orgCode, open: 1 }]);
      await appendAudit(
        tx,
        {
          actor: u,
          action,
          entityType: 'application',
          entityId: id,
          applicationId: id,
          // The pupil through the case only: a 学籍号 contains the ID number.
          details: {
            type: c.type,
            fromSchoolCode: c.fromSchoolCode,
            toSchoolCode: c.toSchoolCode,
            reason: c.reason,
            reasonCode: c.reasonCode,
            effectiveDate: c.effectiveDate,
            details: c.details,
            chain: chain.map((s) => s.stage),
            ...(c.reversesId === null ? {} : { reverses: c.reversesId }),
          },
        },
        now,
      );
      const [row] = await applicationRowsIn(tx, [id]);
      return row;
    });
    return { ...app, guardianAccess: { ref: access.ref, code: access.code } };
  } catch (e) {
    if (isUniqueViolation(e)) {
      const other = await openCase();
      throw other ? openCaseConflict(other.id) : conflict('该学生已有在办业务，办结或撤销后才能再申请');
    }
    throw e;
  }
}

/**
 * The bureaus above the county that review each side of a case (settings/review-levels.json: none by default),
 * resolved through the organisation tree (county → 地市 → 省). Fixed here, when the case is filed.
 */
async function levelOrgs(
  prisma: PrismaClient,
  settings: ReviewLevelSettings,
  type: ChangeType,
  from: { countyCode: string },
  to: { countyCode: string },
): Promise<{ receiving: LevelOrg[]; sending: LevelOrg[] }> {
  const wanted = levelsFor(settings, type, from.countyCode, to.countyCode);
  if (!wanted.receiving.length && !wanted.sending.length) return { receiving: [], sending: [] };
  const above = async (countyCode: string) => {
    const county = await prisma.organisation.findUnique({
      where: { code: countyCode },
      select: { parent: { select: { code: true, kind: true, parent: { select: { code: true, kind: true } } } } },
    });
    const city = county?.parent?.kind === 'CITY' ? county.parent : null;
    const province = city?.parent?.kind === 'PROVINCE' ? city.parent : null;
    return { CITY: city?.code ?? null, PROVINCE: province?.code ?? null };
  };
  const resolve = async (countyCode: string, levels: ReviewLevel[]) => {
    const orgs = await above(countyCode);
    return levels.map((level) => {
      const orgCode = orgs[level];
      if (!orgCode) {
        const what = level === 'CITY' ? '地市教育局' : '省教育厅';
        throw ruleViolation(`按审核层级设置须由${what}审核，但系统中没有${countyCode}的${what}，请联系管理员导入`);
      }
      return { level, orgCode };
    });
  };
  return {
    receiving: await resolve(to.countyCode, wanted.receiving),
    sending: await resolve(from.countyCode, wanted.sending),
  };
}

export function workflowInputOf(a: {
  id: number;
  type: string;
  applicantOrgCode: string;
  round: number;
  createdAt?: Date;
  steps: { round: number; seq: number; stage: Stage; orgCode: string }[];
}): ApplicationWorkflowInput {
  const chain: ChainStep[] = a.steps
    .filter((s) => s.round === a.round)
    .sort((x, y) => x.seq - y.seq)
    .map((s) => ({ stage: s.stage, orgCode: s.orgCode }));
  return {
    applicationId: a.id,
    type: asChangeType(a.type),
    applicantOrgCode: a.applicantOrgCode,
    chain,
    round: a.round,
    ...(a.createdAt ? { createdAtMs: a.createdAt.getTime() } : {}),
  };
}

/** Identifies the row a workflow belongs to, beyond its id (ids restart if a database is rebuilt). */
const appKeyOf = (app: { id: number; createdAt: Date }) => `${app.id}@${app.createdAt.toISOString()}`;

/** A workflow id is already taken by an execution that belongs to another row. */
export class WorkflowIdCollisionError extends Error {
  constructor(workflowId: string) {
    super(`workflow ${workflowId} belongs to another application (was the database rebuilt?)`);
    this.name = 'WorkflowIdCollisionError';
  }
}

/**
 * Starts the case's workflow (id `application-<id>`) and records that it runs. Safe to call twice:
 * an existing execution of this very row — running or finished — counts as started and is never
 * replaced; one that belongs to another row (same id, other creation time) is refused loudly.
 */
export async function startWorkflow(
  prisma: PrismaClient,
  temporal: Client,
  taskQueue: string,
  app: Parameters<typeof workflowInputOf>[0] & { workflowId: string; createdAt: Date },
  timeoutMs = 5000,
  /**
   * Write down here that it runs (the reconciler, a decision on a case it finds unstarted). Filing leaves it to the
   * workflow's first write (openStage sets workflowStartedAt in its own transaction): one commit less per case.
   */
  record = true,
): Promise<void> {
  const appKey = appKeyOf(app);
  // The client retries an unreachable server for a long time: bound it, the reconciler tries again.
  await temporal.withDeadline(Date.now() + timeoutMs, async () => {
    try {
      // By name, with the type only: the API process never loads workflow code.
      await temporal.workflow.start<typeof applicationWorkflow>('applicationWorkflow', {
        workflowId: app.workflowId,
        taskQueue,
        args: [workflowInputOf(app)],
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        memo: { appKey },
      });
    } catch (e) {
      if (!(e instanceof WorkflowExecutionAlreadyStartedError)) throw e;
      const existing = await temporal.workflow.getHandle(app.workflowId).describe();
      if (existing.memo?.appKey !== appKey) throw new WorkflowIdCollisionError(app.workflowId);
    }
  });
  if (record) await prisma.application.update({ where: { id: app.id }, data: { workflowStartedAt: new Date() } });
}

/**
 * The reconciler: every open case whose workflow was never started (Temporal was down when it was
 * filed) gets it now. Returns how many were started.
 */
export async function reconcileWorkflows(
  prisma: PrismaClient,
  temporal: Client,
  taskQueue: string,
  logger: Logger,
  /** Cases filed more recently are left to their filing and their workflow's first write. */
  olderThanMs = 30_000,
) {
  // A case filed moments ago is started by its filing and marked by its workflow's first write: left alone here.
  const pending = await prisma.application.findMany({
    where: {
      workflowStartedAt: null,
      status: { in: OPEN_STATUSES },
      createdAt: { lt: new Date(Date.now() - olderThanMs) },
    },
    include: { steps: true },
    orderBy: { id: 'asc' },
    take: 100,
  });
  let started = 0;
  for (const app of pending) {
    try {
      await startWorkflow(prisma, temporal, taskQueue, app);
      started += 1;
    } catch (e) {
      if (e instanceof WorkflowIdCollisionError) {
        // Needs an administrator; the other cases must not wait behind it.
        logger.error({ applicationId: app.id, err: e.message }, 'workflow id collision');
        continue;
      }
      logger.warn({ applicationId: app.id, err: String(e) }, 'reconciler could not start workflow yet');
      break; // Temporal is still down: try again on the next tick.
    }
  }
  if (started) logger.info({ started }, 'reconciler started workflows');
  return started;
}

/**
 * The reconciler's second question: has the workflow of a case Postgres shows closed really ended? Each closed case is
 * looked at once, a minute after closing: a workflow found finished is marked (workflowClosedAt) and not looked at
 * again. One still running missed the close — the write that closed the case landed but its workflow task was lost to
 * a crash of the worker or of Temporal (a speculative task, which an Update's is, lives only in the server's memory)
 * — and a sync Update has it read the case and end; the next tick finds it finished. Returns how many it looked at.
 */
export async function reconcileClosedCases(
  prisma: PrismaClient,
  temporal: Client,
  logger: Logger,
  olderThanMs = 60_000,
) {
  const closed = await prisma.application.findMany({
    where: {
      workflowClosedAt: null,
      status: { in: ['APPROVED', 'REJECTED', 'WITHDRAWN', 'CANCELLED'] },
      closedAt: { lt: new Date(Date.now() - olderThanMs) },
      workflowStartedAt: { not: null },
    },
    select: { id: true, workflowId: true },
    orderBy: { closedAt: 'asc' },
    take: 50,
  });
  let done = 0;
  for (const app of closed) {
    try {
      await temporal.withDeadline(Date.now() + 5_000, async () => {
        const handle = temporal.workflow.getHandle(app.workflowId);
        const d = await handle.describe();
        if (d.status.name === 'RUNNING') {
          // Lean workflows answer it and end (confirming); older ones end by themselves once their mail is sent.
          await handle.executeUpdate(syncUpdate, { updateId: `sync:${app.id}:${Date.now()}` }).catch(() => undefined);
        } else {
          await prisma.application.update({
            where: { id: app.id },
            data: { workflowClosedAt: d.closeTime ?? new Date() },
          });
        }
      });
      done += 1;
    } catch (e) {
      if (e instanceof WorkflowNotFoundError) {
        await prisma.application.update({ where: { id: app.id }, data: { workflowClosedAt: new Date() } });
        continue;
      }
      logger.warn({ applicationId: app.id, err: String(e) }, 'reconciler could not reach a closed case’s workflow');
      break;
    }
  }
  if (done) logger.info({ checked: done }, 'reconciler brought closed cases’ workflows in step');
  return done;
}
