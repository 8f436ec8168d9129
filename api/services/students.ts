// Pupils' records (学籍) at the HTTP edge's request: the lookup by school and name, the check of a typed 学籍号, 新生建籍
// and the record with its history. The routes (api/routes/students.ts) parse, authorise and answer; the database work
// is here.

import type { Student, StudentHistory } from '../../generated/prisma/client';
import { appendAudit } from '../../infra/audit';
import { isUniqueViolation, type PrismaClient } from '../../infra/db';
import { maskIdNumber, maskStudentNo, maskStudentNoToRegion, studentNoFromIdNumber } from '../../domain/id-number';
import { idNumberAsSeen, studentNoAsSeen } from '../../domain/reach';
import { CONFUSION_KIND_LABELS, isNearMatch } from '../../domain/lookalike';
import type { AuthUser } from '../auth';
import { conflict, notFound, ruleViolation } from '../errors';
import { isoDay } from '../schemas/common';
import type { RegisterStudentBody } from '../schemas/students';
import { guardedMatch, isWithinReach, reachOf } from './reach';
import {
  historyLineOf,
  openCaseNotes,
  reversedChangeNotes,
  schoolRefs,
  suggestPupils,
  type Suggestion,
} from './pupils';

/**
 * A pupil as every list shows it. Within the caller's reach the 学籍号 and ID number keep region and last four, with
 * the birth date; outside it only the region, and no birth date (with both, the number could be rebuilt). The clerk
 * files with the number on the family's papers, checked by POST /api/students/match.
 */
export const summaryOf = (p: Student, schoolName: string, within: boolean) => ({
  studentNo: studentNoAsSeen(p.studentNo, within, 'list'),
  name: p.name,
  gender: p.gender,
  birthDate: within ? isoDay(p.birthDate) : null,
  schoolCode: p.schoolCode,
  schoolName,
  grade: p.grade,
  status: p.status,
  idNumberMasked: idNumberAsSeen(p.idNumber, within),
});

/** The record with its change history (studentNo whole: only parties to the pupil get here). */
async function detailOf(
  prisma: PrismaClient,
  pupil: Student & { school: { name: string }; history: StudentHistory[] },
) {
  const ref = await schoolRefs(
    prisma,
    pupil.history.flatMap((h) => [h.fromSchoolCode, h.toSchoolCode]),
  );
  return {
    ...summaryOf(pupil, pupil.school.name, true),
    ref: pupil.ref,
    studentNo: pupil.studentNo,
    className: pupil.className,
    problemFlag: pupil.problemFlag,
    history: pupil.history.map((h) => historyLineOf(h, ref)),
  };
}

/** "没有找到“刘子凇”。您要找的是否是：刘子淞（凇→淞，形近字）？…", or what to check when nothing is close. */
function lookupHint(name: string, schoolName: string, suggestions: Suggestion[]): string {
  if (suggestions.length === 0) {
    return (
      `在${schoolName}没有找到“${name}”，也没有姓名相近的学生。请核对姓名和学校代码；` +
      '如仍找不到，可能是该校尚未为这名学生建立学籍。'
    );
  }
  const seen = new Set<string>();
  const names = suggestions.flatMap(({ pupil, differences }) => {
    if (seen.has(pupil.name)) return [];
    seen.add(pupil.name);
    return [
      `${pupil.name}（${differences.map((d) => `${d.typed}→${d.found}，${CONFUSION_KIND_LABELS[d.kind]}`).join('；')}）`,
    ];
  });
  return `没有找到“${name}”。您要找的是否是：${names.join('、')}？（常见原因：形近字或同音字输入错误）`;
}

/**
 * A temporary 学籍号 for a pupil without household registration (无户籍): 'L' + the registering
 * school's 10-character code + an 8-digit count of that school's temporary numbers, from 00000001.
 * 19 characters like a 'G' number, readable for a clerk (the school is in it), and it passes
 * isValidStudentNo. It is max + 1 when read: two registrations at once may read the same max, and the
 * primary key makes the second retry with the next number.
 */
async function nextTemporaryStudentNo(prisma: PrismaClient, schoolCode: string): Promise<string> {
  // 学校标识码 are 10 digits; anything else could not form a valid temporary number.
  if (!/^[0-9A-Z]{10}$/.test(schoolCode)) {
    throw ruleViolation(
      `本校学校代码“${schoolCode}”不是 10 位学校标识码，无法生成临时学籍号，请联系管理员更正学校代码`,
    );
  }
  const prefix = `L${schoolCode}`;
  const [row] = await prisma.$queryRaw<{ last: string | null }[]>`
    select max(right("studentNo", 8)) as last from "Student"
    where "studentNo" like ${`${prefix}%`} and length("studentNo") = 19 and right("studentNo", 8) ~ '^[0-9]{8}$'`;
  return `${prefix}${String(Number(row?.last ?? 0) + 1).padStart(8, '0')}`;
}

export type Warning = { code: 'POSSIBLE_DUPLICATE'; message: string; studentNo: string; name: string };

/**
 * Possible duplicates, which do not stop a registration (twins, namesakes) but which the clerk should
 * look at: a pupil of this school born the same day with the same or a near-match name, and for a
 * pupil without an ID number, a pupil anywhere born the same day to the same parents or guardian.
 */
async function duplicateWarnings(
  prisma: PrismaClient,
  u: { role: 'SCHOOL_CLERK' | 'COUNTY_OFFICER' | 'ADMIN'; orgCode: string | null },
  schoolCode: string,
  body: RegisterStudentBody,
): Promise<Warning[]> {
  const birthDate = new Date(`${body.birthDate}T00:00:00Z`);
  const warnings: Warning[] = [];
  const sameDay = await prisma.student.findMany({ where: { schoolCode, birthDate }, orderBy: { studentNo: 'asc' } });
  for (const p of sameDay) {
    if (p.name !== body.name && !isNearMatch(body.name, p.name)) continue;
    warnings.push({
      code: 'POSSIBLE_DUPLICATE',
      studentNo: maskStudentNo(p.studentNo),
      name: p.name,
      message:
        `本校已有出生日期相同、姓名${p.name === body.name ? '相同' : '相近'}的学生“${p.name}”` +
        `（学籍号 ${maskStudentNo(p.studentNo)}），请确认不是重复登记`,
    });
  }
  if (body.noHouseholdRegistration) {
    const family = [
      ...(body.fatherIdNumber && body.motherIdNumber
        ? [{ fatherIdNumber: body.fatherIdNumber, motherIdNumber: body.motherIdNumber }]
        : []),
      ...(body.guardianIdNumber ? [{ guardianIdNumber: body.guardianIdNumber }] : []),
    ];
    const siblings = await prisma.student.findMany({
      where: { birthDate, OR: family, studentNo: { notIn: sameDay.map((p) => p.studentNo) } },
      include: { school: true },
      orderBy: { studentNo: 'asc' },
    });
    const reach = await reachOf(
      prisma,
      u,
      siblings.map((p) => p.studentNo),
    );
    for (const p of siblings) {
      const seen = studentNoAsSeen(p.studentNo, reach.has(p.studentNo), 'list');
      warnings.push({
        code: 'POSSIBLE_DUPLICATE',
        studentNo: seen,
        name: p.name,
        message:
          `${p.school.name}已有同一父母或监护人、出生日期相同的学生“${p.name}”` +
          `（学籍号 ${seen}），请确认不是重复登记`,
      });
    }
  }
  return warnings;
}

/**
 * Exact-name lookup at one school: 404 for a school that does not exist. Pupils masked by reach, each with the note of
 * its open case; when nobody has that exact name, near-match `suggestions` and a `hint` in words.
 */
export async function lookupStudents(prisma: PrismaClient, u: AuthUser, q: { schoolCode: string; name: string }) {
  const school = await prisma.organisation.findUnique({ where: { code: q.schoolCode } });
  if (!school || school.kind !== 'SCHOOL') throw notFound(`没有代码为 ${q.schoolCode} 的学校，请核对学校代码`);
  const pupils = await prisma.student.findMany({
    where: { schoolCode: q.schoolCode, name: q.name },
    orderBy: { studentNo: 'asc' },
    take: 50,
  });
  // Masked by reach; a pupil with an open case is said so at once — "在办（转学，审核中）", the destination only
  // to its parties.
  const shown = async (list: Student[], extra: (p: Student) => Record<string, unknown> = () => ({})) => {
    const nos = list.map((p) => p.studentNo);
    const [reach, notes, reversed] = await Promise.all([
      reachOf(prisma, u, nos),
      openCaseNotes(prisma, u, nos),
      reversedChangeNotes(prisma, u, nos),
    ]);
    return list.map((p) => ({
      ...summaryOf(p, school.name, reach.has(p.studentNo)),
      openCase: notes.get(p.studentNo) ?? null,
      reversedChange: reversed.get(p.studentNo) ?? null,
      ...extra(p),
    }));
  };
  if (pupils.length > 0) {
    return {
      items: await shown(pupils),
    };
  }
  const suggestions = await suggestPupils(prisma, school.code, q.name);
  const rank = new Map(suggestions.map((s) => [s.pupil.studentNo, s.rank]));
  return {
    items: [],
    suggestions: await shown(
      suggestions.map((s) => s.pupil),
      (p) => ({ match: rank.get(p.studentNo) }),
    ),
    hint: lookupHint(q.name, school.name, suggestions),
  };
}

/**
 * The pupil with this 学籍号 at this school under this name, or null; the check counts against the caller's guessing
 * limit (services/reach.ts: 429 beyond it, failures audited).
 */
export async function matchStudent(
  prisma: PrismaClient,
  u: AuthUser,
  body: { studentNo: string; schoolCode: string; name: string },
) {
  const { pupil } = await guardedMatch(
    prisma,
    u,
    { via: 'match', studentNo: body.studentNo, schoolCode: body.schoolCode, name: body.name },
    async (tx) => {
      const found = await tx.student.findFirst({
        where: { studentNo: body.studentNo, schoolCode: body.schoolCode, name: body.name },
        include: { school: true },
      });
      return { ok: found !== null, pupil: found };
    },
  );
  return pupil;
}

/**
 * Registers a pupil at `schoolCode` (the caller's school), the identity already checked by the route: `idNumber` is
 * the normalised ID number, or null for a pupil without household registration (a temporary 'L' number then). 409
 * when the ID number is registered already (the unique index decides under concurrent requests); a number outside the
 * caller's reach counts as a failed match. Returns the record with its history and the possible duplicates.
 */
export async function registerStudent(
  prisma: PrismaClient,
  u: AuthUser,
  schoolCode: string,
  idNumber: string | null,
  body: RegisterStudentBody,
) {
  const alreadyRegistered = async () => {
    if (!idNumber) return null;
    const other = await prisma.student.findUnique({ where: { idNumber }, include: { school: true } });
    if (!other) return null;
    const seen = (await isWithinReach(prisma, u, other.studentNo))
      ? maskIdNumber(idNumber)
      : maskStudentNoToRegion(`G${idNumber}`).slice(1);
    return conflict(
      `该身份证号已登记学籍：${other.school.name}（身份证号 ${seen}）。` +
        '同一身份证号只能有一个学籍；学生如在外校就读，请办理转学',
    );
  };
  if (idNumber) {
    // "Already registered elsewhere" tells whether a number exists: for a pupil outside the clerk's reach it counts
    // as a failed match, so registering cannot be used to guess ID numbers past the limit.
    const number = idNumber;
    await guardedMatch(prisma, u, { via: 'register', studentNo: studentNoFromIdNumber(number) }, async (tx) => {
      const other = await tx.student.findUnique({ where: { idNumber: number }, select: { studentNo: true } });
      return { ok: !other || (await reachOf(tx, u, [other.studentNo])).has(other.studentNo) };
    });
  }
  const taken = await alreadyRegistered();
  if (taken) throw taken;

  const warnings = await duplicateWarnings(prisma, u, schoolCode, body);
  const data = {
    idNumber,
    name: body.name,
    gender: body.gender,
    birthDate: new Date(`${body.birthDate}T00:00:00Z`),
    schoolCode,
    grade: body.grade,
    className: body.className,
    fatherIdNumber: body.fatherIdNumber || null,
    motherIdNumber: body.motherIdNumber || null,
    guardianIdNumber: body.guardianIdNumber || null,
  };
  let created: Student & { school: { name: string }; history: StudentHistory[] };
  for (let attempt = 1; ; attempt++) {
    const studentNo = idNumber ? studentNoFromIdNumber(idNumber) : await nextTemporaryStudentNo(prisma, schoolCode);
    try {
      created = await prisma.$transaction(async (tx) => {
        const pupil = await tx.student.create({
          data: { ...data, studentNo },
          include: { school: true, history: true },
        });
        await appendAudit(tx, {
          actor: u,
          action: 'student.register',
          entityType: 'student',
          // A 'G' number is 'G' + the ID number: masked. A temporary 'L' number names only the school.
          entityId: idNumber ? maskStudentNo(studentNo) : studentNo,
          details: {
            name: data.name,
            schoolCode,
            grade: data.grade,
            className: data.className,
            noHouseholdRegistration: !idNumber,
            possibleDuplicates: warnings.length,
          },
        });
        return pupil;
      });
      break;
    } catch (e) {
      if (!isUniqueViolation(e)) throw e;
      // Same ID number registered a moment ago by another request: the unique index has decided.
      if (idNumber) throw (await alreadyRegistered()) ?? conflict('该身份证号已登记学籍');
      // Another temporary number was taken at the same moment: take the next one.
      if (attempt === 5) throw conflict('临时学籍号生成冲突，请稍后重试');
    }
  }
  return { detail: await detailOf(prisma, created), studentNo: created.studentNo, warnings };
}

/**
 * The record with its change history when the pupil is within the caller's reach (domain/reach.ts), else null — the
 * same for a number that does not exist, so nothing tells them apart.
 */
export async function studentDetailFor(prisma: PrismaClient, u: AuthUser, studentNo: string) {
  const pupil = await prisma.student.findUnique({
    where: { studentNo },
    include: { school: true, history: { orderBy: { createdAt: 'asc' } } },
  });
  if (!pupil || !(await isWithinReach(prisma, u, studentNo))) return null;
  return detailOf(prisma, pupil);
}

/** The pupil of a case (it exists: cases keep their pupil). */
export function loadStudent(prisma: PrismaClient, studentNo: string) {
  return prisma.student.findUniqueOrThrow({ where: { studentNo } });
}
