// Pupils as the console finds them: near-match suggestions at one school (exact > look-alike > same pinyin with
// tones > without), the note of an open case at the lookup, and 学籍查询 — search and the pupil's page — within
// what the caller may reach.

import type { Prisma, Student, StudentHistory } from '../../generated/prisma/client';
import type { PrismaClient } from '../../infra/db';
import { maskIdNumber, maskStudentNo } from '../../domain/id-number';
import { shanghaiDate } from '../../domain/calendar';
import { CHANGE_TYPE_LABELS, STATUS_LABELS } from '../../domain/labels';
import { rankNearMatches, type MatchRank, type NameDifference } from '../../domain/lookalike';
import { isValidStudentNo } from '../../domain/id-number';
import { normaliseIdInput } from '../../domain/text';
import { asChangeType, MOVING_TYPES } from '../../domain/change-types';
import { OPEN_STATUSES, type ChangeType } from '../../domain/types';
import type { AuthUser } from '../auth';
import { isoDay } from '../schemas/common';
import { notFound } from '../errors';
import { readableOrgs, visibleTo } from './applications';

/** At most this many suggestions for a name nobody at the school has. */
export const SUGGESTION_LIMIT = 10;

export interface Suggestion {
  pupil: Student;
  rank: MatchRank;
  differences: NameDifference[];
}

/**
 * Pupils of one school whose name is a near match of `name` (domain/lookalike.ts): best first, at most `limit`.
 * The school's distinct names of that length are read once (an index-only scan of (schoolCode, name)) and ranked
 * here: pinyin cannot be looked up with an index, and a school has a few thousand names at most.
 */
export async function suggestPupils(
  prisma: PrismaClient,
  schoolCode: string,
  name: string,
  limit = SUGGESTION_LIMIT,
): Promise<Suggestion[]> {
  const typed = name.trim();
  // char_length counts code points, as the near-match rule does.
  const rows = await prisma.$queryRaw<{ name: string }[]>`
    select distinct "name" from "Student"
    where "schoolCode" = ${schoolCode} and char_length("name") = ${Array.from(typed).length} and "name" <> ${typed}`;
  const ranked = rankNearMatches(
    typed,
    rows.map((r) => r.name),
    (n) => n,
    (a, b) => (a < b ? -1 : a > b ? 1 : 0),
  ).slice(0, limit);
  if (ranked.length === 0) return [];
  const pupils = await prisma.student.findMany({
    where: { schoolCode, name: { in: ranked.map((r) => r.item) } },
    orderBy: { studentNo: 'asc' },
    take: limit * 5,
  });
  const order = new Map(ranked.map((r, i) => [r.item, { i, r }]));
  return pupils
    .sort((a, b) => order.get(a.name)!.i - order.get(b.name)!.i)
    .slice(0, limit)
    .map((p) => ({ pupil: p, rank: order.get(p.name)!.r.rank, differences: order.get(p.name)!.r.differences }));
}

// ── Reach ────────────────────────────────────────────────────────────────────────────────────────────────

/** How long the sending school and bureau keep a transferred pupil in reach (DESIGN §5 "Reach"). */
const AFTER_TRANSFER_MS = 30 * 86_400_000;

/**
 * domain/reach.ts's rule as a query, for searching pupils (the rule itself decides about pupils already in hand):
 * those of the caller's school, or of the schools under the caller's bureau (county, 地市 or 省); those of an open case
 * the caller's own organisation is a party to (applicant, or a stage of it reached); those who left the caller's
 * school or a school under its bureau by a transfer approved in the last 30 days. Administrators reach everyone. test/console-api.test.ts and
 * test/reach.test.ts hold the two to the same cases.
 */
export async function reachWhere(
  prisma: PrismaClient,
  u: AuthUser,
  now = new Date(),
): Promise<Prisma.StudentWhereInput> {
  const orgs = await readableOrgs(prisma, u);
  if (orgs === null) return {};
  if (orgs.length === 0) return { studentNo: { in: [] } };
  return {
    OR: [
      { schoolCode: { in: orgs } },
      {
        applications: {
          some: {
            status: { in: OPEN_STATUSES },
            OR: [
              { applicantOrgCode: u.orgCode ?? '-' },
              { steps: { some: { orgCode: u.orgCode ?? '-', openedAt: { not: null } } } },
            ],
          },
        },
      },
      {
        history: {
          some: {
            type: { in: MOVING_TYPES },
            fromSchoolCode: { in: orgs },
            createdAt: { gte: new Date(now.getTime() - AFTER_TRANSFER_MS) },
          },
        },
      },
    ],
  };
}

// ── The open case of a pupil, at the lookup ──────────────────────────────────────────────────────────────

export interface OpenCaseNote {
  type: ChangeType;
  status: (typeof OPEN_STATUSES)[number];
  /** 在办（转学，审核中）: what the clerk reads. Names no organisation unless the caller is a party. */
  label: string;
  /** Only for a party to the case (it has reached the caller): the case to open, and where the pupil is going. */
  applicationId: number | null;
  toSchool: { code: string; name: string } | null;
}

/**
 * The open case (at most one: the partial unique index) of each pupil. Families in custody disputes: where a child
 * is being moved to is told only to the organisations the case has reached, never to anyone who merely looks the
 * pupil up.
 */
export async function openCaseNotes(
  prisma: PrismaClient,
  u: AuthUser,
  studentNos: string[],
): Promise<Map<string, OpenCaseNote>> {
  if (studentNos.length === 0) return new Map();
  const [open, visible] = await Promise.all([
    prisma.application.findMany({
      where: { studentNo: { in: studentNos }, status: { in: OPEN_STATUSES } },
      select: { id: true, studentNo: true, type: true, status: true, toSchoolCode: true, reversesId: true },
    }),
    readableOrgs(prisma, u).then((orgs) =>
      prisma.application.findMany({
        where: { studentNo: { in: studentNos }, status: { in: OPEN_STATUSES }, ...visibleTo(orgs) },
        select: { id: true },
      }),
    ),
  ]);
  const party = new Set(visible.map((a) => a.id));
  const names = new Map(
    (
      await prisma.organisation.findMany({
        where: { code: { in: open.flatMap((a) => (a.toSchoolCode && party.has(a.id) ? [a.toSchoolCode] : [])) } },
      })
    ).map((o) => [o.code, o.name]),
  );
  const out = new Map<string, OpenCaseNote>();
  for (const a of open) {
    const isParty = party.has(a.id);
    const to =
      isParty && a.toSchoolCode ? { code: a.toSchoolCode, name: names.get(a.toSchoolCode) ?? a.toSchoolCode } : null;
    const type = asChangeType(a.type);
    out.set(a.studentNo, {
      type,
      status: a.status as OpenCaseNote['status'],
      label: `在办（${a.reversesId === null ? '' : '纠错：'}${CHANGE_TYPE_LABELS[type]}${to ? `至${to.name}` : ''}，${STATUS_LABELS[a.status]}）`,
      applicationId: isParty ? a.id : null,
      toSchool: to,
    });
  }
  return out;
}

// ── A reversed change, at the lookup ─────────────────────────────────────────────────────────────────────

export interface ReversedChangeNote {
  /** The type of the change that was reversed. */
  type: ChangeType;
  /** The China day the reversal was approved (the record returned to what it was). */
  reversedOn: string;
  /** 已纠错：…, what the clerk reads. Names no organisation; case numbers only of cases the caller may open. */
  label: string;
  /** The reversed case and the reversal, each only when the caller may open it. */
  applicationId: number | null;
  reversalId: number | null;
}

/**
 * Pupils whose most recent completed change was reversed (纠错): their latest history line is a reversal's. A clerk
 * looking the pupil up reads that the change was undone, when, and by which case — the record alone would look as if
 * nothing had happened. Once a later change is approved, the note gives way to it (the history keeps both lines).
 */
export async function reversedChangeNotes(
  prisma: PrismaClient,
  u: AuthUser,
  studentNos: string[],
): Promise<Map<string, ReversedChangeNote>> {
  if (studentNos.length === 0) return new Map();
  // The latest line of each pupil (index on studentNo, createdAt); only reversal lines are kept.
  const latest = await prisma.$queryRaw<
    { studentNo: string; type: string; applicationId: number | null; reverses: number | null; at: Date }[]
  >`
    select distinct on (h."studentNo") h."studentNo", h.type, h."applicationId",
           h."reversesApplicationId" as reverses, h."createdAt" as at
      from "StudentHistory" h
     where h."studentNo" = any(${studentNos})
     order by h."studentNo", h."createdAt" desc, h.id desc`;
  const reversed = latest.filter((l) => l.reverses !== null);
  if (reversed.length === 0) return new Map();
  const ids = reversed.flatMap((l) => [l.reverses!, ...(l.applicationId === null ? [] : [l.applicationId])]);
  const visible = new Set(
    (
      await prisma.application.findMany({
        where: { id: { in: ids }, ...visibleTo(await readableOrgs(prisma, u)) },
        select: { id: true },
      })
    ).map((a) => a.id),
  );
  const out = new Map<string, ReversedChangeNote>();
  for (const l of reversed) {
    const type = asChangeType(l.type);
    const reversedOn = shanghaiDate(l.at.getTime());
    const applicationId = visible.has(l.reverses!) ? l.reverses : null;
    const reversalId = l.applicationId !== null && visible.has(l.applicationId) ? l.applicationId : null;
    out.set(l.studentNo, {
      type,
      reversedOn,
      label:
        `已纠错（最近一次${CHANGE_TYPE_LABELS[type]}${applicationId ? `，业务 ${applicationId}` : ''}，` +
        `${reversedOn} 经纠错撤销${reversalId ? `，纠错业务 ${reversalId}` : ''}）`,
      applicationId,
      reversalId,
    });
  }
  return out;
}

// ── 学籍查询 ─────────────────────────────────────────────────────────────────────────────────────────────

type PupilRow = Student & { school: { name: string } };

const listItemOf = (p: PupilRow, note: OpenCaseNote | undefined, reversed: ReversedChangeNote | undefined) => ({
  ref: p.ref,
  // Masked like every list: the whole number only on the pupil's page.
  studentNo: maskStudentNo(p.studentNo),
  name: p.name,
  gender: p.gender,
  birthDate: isoDay(p.birthDate),
  schoolCode: p.schoolCode,
  schoolName: p.school.name,
  grade: p.grade,
  className: p.className,
  status: p.status,
  problemFlag: p.problemFlag,
  openCase: note ?? null,
  reversedChange: reversed ?? null,
});

export const PUPIL_SEARCH_LIMIT = 50;

/**
 * Pupils within the caller's reach by 学籍号 (the whole number, as on the family's papers) or by name (a part of it
 * is enough), optionally at one school. At most PUPIL_SEARCH_LIMIT, by school and name; `more` says there are more.
 */
export async function searchPupils(
  prisma: PrismaClient,
  u: AuthUser,
  q: { q: string; schoolCode?: string; status?: Student['status'] },
) {
  const text = q.q.trim();
  const asNumber = normaliseIdInput(text);
  const match: Prisma.StudentWhereInput = isValidStudentNo(asNumber)
    ? { studentNo: asNumber }
    : { name: { contains: text } };
  const where: Prisma.StudentWhereInput = {
    AND: [
      await reachWhere(prisma, u),
      match,
      q.schoolCode ? { schoolCode: q.schoolCode } : {},
      q.status ? { status: q.status } : {},
    ],
  };
  const rows = await prisma.student.findMany({
    where,
    include: { school: { select: { name: true } } },
    orderBy: [{ schoolCode: 'asc' }, { name: 'asc' }, { studentNo: 'asc' }],
    take: PUPIL_SEARCH_LIMIT + 1,
  });
  const page = rows.slice(0, PUPIL_SEARCH_LIMIT);
  const nos = page.map((p) => p.studentNo);
  const [notes, reversed] = await Promise.all([openCaseNotes(prisma, u, nos), reversedChangeNotes(prisma, u, nos)]);
  return {
    items: page.map((p) => listItemOf(p, notes.get(p.studentNo), reversed.get(p.studentNo))),
    more: rows.length > PUPIL_SEARCH_LIMIT,
  };
}

/**
 * A pupil's page: the record (学籍号 whole: the caller reaches the pupil), the change history with the cases the
 * caller may open, and every case of the pupil the caller may see. 404 for a pupil out of reach (refs do not leak).
 */
export async function pupilPage(prisma: PrismaClient, u: AuthUser, ref: string) {
  const pupil = await prisma.student.findFirst({
    where: { AND: [{ ref }, await reachWhere(prisma, u)] },
    include: { school: true, history: { orderBy: { createdAt: 'asc' } } },
  });
  if (!pupil) throw notFound('没有找到这名学生，或您无权查看');
  const orgs = await readableOrgs(prisma, u);
  const cases = await prisma.application.findMany({
    where: { studentNo: pupil.studentNo, ...visibleTo(orgs) },
    orderBy: { id: 'desc' },
    select: {
      id: true,
      type: true,
      status: true,
      createdAt: true,
      updatedAt: true,
      currentStage: true,
      fromSchoolCode: true,
      toSchoolCode: true,
    },
  });
  const visible = new Set(cases.map((c) => c.id));
  const ref_ = await schoolRefs(prisma, [
    ...pupil.history.flatMap((h) => [h.fromSchoolCode, h.toSchoolCode]),
    ...cases.flatMap((c) => [c.fromSchoolCode, c.toSchoolCode]),
  ]);
  const [notes, reversed] = await Promise.all([
    openCaseNotes(prisma, u, [pupil.studentNo]),
    reversedChangeNotes(prisma, u, [pupil.studentNo]),
  ]);
  return {
    ...listItemOf(pupil, notes.get(pupil.studentNo), reversed.get(pupil.studentNo)),
    studentNo: pupil.studentNo,
    idNumberMasked: maskIdNumber(pupil.idNumber),
    // A link only to a case the caller may open (an old transfer between two other schools is not theirs).
    history: pupil.history.map((h) => historyLineOf(h, ref_, (id) => (id !== null && visible.has(id) ? id : null))),
    cases: cases.map((c) => ({
      id: c.id,
      type: c.type,
      status: c.status,
      currentStage: c.currentStage,
      fromSchool: ref_(c.fromSchoolCode)!,
      toSchool: ref_(c.toSchoolCode),
      createdAt: c.createdAt.toISOString(),
      updatedAt: c.updatedAt.toISOString(),
    })),
  };
}

/** Schools by code with their names, read in one query: `null` for no code, the code itself for one not found. */
export async function schoolRefs(prisma: PrismaClient, codes: (string | null)[]) {
  const wanted = [...new Set(codes)].filter((c): c is string => !!c);
  const names = new Map(
    wanted.length
      ? (await prisma.organisation.findMany({ where: { code: { in: wanted } } })).map((o) => [o.code, o.name])
      : [],
  );
  return (c: string | null) => (c ? { code: c, name: names.get(c) ?? c } : null);
}

/** A line of a pupil's history as the API answers it; `link` gives the case ids the caller may follow (else null). */
export function historyLineOf(
  h: StudentHistory,
  ref: (code: string | null) => { code: string; name: string } | null,
  link: (id: number | null) => number | null = (id) => id,
) {
  return {
    type: h.type,
    applicationId: link(h.applicationId),
    effectiveDate: isoDay(h.effectiveDate),
    fromSchool: ref(h.fromSchoolCode),
    toSchool: ref(h.toSchoolCode),
    fromStatus: h.fromStatus,
    toStatus: h.toStatus,
    fromGrade: h.fromGrade,
    toGrade: h.toGrade,
    approvedBy: h.approvedBy,
    recordedAt: h.createdAt.toISOString(),
    reverses: link(h.reversesApplicationId),
  };
}
