import { Router } from 'express';
import type { AppDeps } from '../app';
import { currentUser, requireRole } from '../auth';
import { badRequest, conflict, forbidden, notFound, ruleViolation, type FieldError } from '../errors';
import { isoDay, parse, StudentNoSchema, z } from '../schemas/common';
import {
  RegisterStudentBodySchema,
  RegisteredStudentSchema,
  StudentDetailSchema,
  StudentLookupQuerySchema,
  StudentLookupResultSchema,
  StudentMatchBodySchema,
  StudentMatchSchema,
  type RegisterStudentBody,
} from '../schemas/students';
import { body as requestBody, json, problem, secured, type OpenAPIRegistry } from '../openapi-helpers';
import {
  maskIdNumber,
  maskStudentNo,
  maskStudentNoToRegion,
  parseIdNumber,
  studentNoFromIdNumber,
} from '../../domain/id-number';
import { idNumberAsSeen, studentNoAsSeen } from '../../domain/reach';
import { CONFUSION_KIND_LABELS, isNearMatch } from '../../domain/lookalike';
import { appendAudit } from '../../infra/audit';
import { isUniqueViolation, type PrismaClient } from '../../infra/db';
import type { Student, StudentHistory } from '../../generated/prisma/client';
import { guardedMatch, isWithinReach, reachOf } from '../services/reach';
import { openCaseNotes, suggestPupils, type Suggestion } from '../services/pupils';

/**
 * A pupil as every list shows it. Within the caller's reach the 学籍号 and ID number keep region and last four, with
 * the birth date; outside it only the region, and no birth date (with both, the number could be rebuilt). The clerk
 * files with the number on the family's papers, checked by POST /api/students/match.
 */
const summaryOf = (p: Student, schoolName: string, within: boolean) => ({
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
  const codes = [
    ...new Set(pupil.history.flatMap((h) => [h.fromSchoolCode, h.toSchoolCode]).filter(Boolean)),
  ] as string[];
  const names = new Map(
    codes.length
      ? (await prisma.organisation.findMany({ where: { code: { in: codes } } })).map((o) => [o.code, o.name])
      : [],
  );
  const ref = (c: string | null) => (c ? { code: c, name: names.get(c) ?? c } : null);
  return {
    ...summaryOf(pupil, pupil.school.name, true),
    ref: pupil.ref,
    studentNo: pupil.studentNo,
    className: pupil.className,
    problemFlag: pupil.problemFlag,
    history: pupil.history.map((h) => ({
      type: h.type,
      applicationId: h.applicationId,
      effectiveDate: isoDay(h.effectiveDate),
      fromSchool: ref(h.fromSchoolCode),
      toSchool: ref(h.toSchoolCode),
      fromStatus: h.fromStatus,
      toStatus: h.toStatus,
      fromGrade: h.fromGrade,
      toGrade: h.toGrade,
      approvedBy: h.approvedBy,
      recordedAt: h.createdAt.toISOString(),
      reverses: h.reversesApplicationId,
    })),
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

/** Body fields that contradict the ID number: 422, each naming its field. */
function mismatchesWithIdNumber(
  body: RegisterStudentBody,
  id: { birthDate: string; gender: 'MALE' | 'FEMALE' },
): FieldError[] {
  const errors: FieldError[] = [];
  if (id.birthDate !== body.birthDate) {
    errors.push({
      path: 'birthDate',
      message: `出生日期与身份证号不一致：身份证号中的出生日期为 ${id.birthDate}，填写的是 ${body.birthDate}`,
    });
  }
  if (id.gender !== body.gender) {
    const said = id.gender === 'MALE' ? '男' : '女';
    errors.push({ path: 'gender', message: `性别与身份证号不一致：按身份证号第 17 位应为${said}` });
  }
  return errors;
}

type Warning = { code: 'POSSIBLE_DUPLICATE'; message: string; studentNo: string; name: string };

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

export function studentRoutes({ prisma }: AppDeps): Router {
  const r = Router();

  /**
   * Exact-name lookup at one school — how a receiving school finds the pupil it will take in.
   * ID numbers are masked; 400 when schoolCode or name is missing. When nobody has that exact name,
   * `suggestions` lists pupils of the school with a near-match name (形近字, 同音字, 繁简字) and `hint`
   * says so in words.
   */
  r.get('/', async (req, res) => {
    const q = parse(StudentLookupQuerySchema, req.query);
    const school = await prisma.organisation.findUnique({ where: { code: q.schoolCode } });
    if (!school || school.kind !== 'SCHOOL') throw notFound(`没有代码为 ${q.schoolCode} 的学校，请核对学校代码`);
    const u = currentUser(req);
    const pupils = await prisma.student.findMany({
      where: { schoolCode: q.schoolCode, name: q.name },
      orderBy: { studentNo: 'asc' },
      take: 50,
    });
    // Masked by reach; a pupil with an open case is said so at once — "在办（转学，审核中）", the destination only
    // to its parties.
    const shown = async (list: Student[], extra: (p: Student) => Record<string, unknown> = () => ({})) => {
      const nos = list.map((p) => p.studentNo);
      const [reach, notes] = await Promise.all([reachOf(prisma, u, nos), openCaseNotes(prisma, u, nos)]);
      return list.map((p) => ({
        ...summaryOf(p, school.name, reach.has(p.studentNo)),
        openCase: notes.get(p.studentNo) ?? null,
        ...extra(p),
      }));
    };
    if (pupils.length > 0) {
      res.json({
        items: await shown(pupils),
      });
      return;
    }
    const suggestions = await suggestPupils(prisma, school.code, q.name);
    const rank = new Map(suggestions.map((s) => [s.pupil.studentNo, s.rank]));
    res.json({
      items: [],
      suggestions: await shown(
        suggestions.map((s) => s.pupil),
        (p) => ({ match: rank.get(p.studentNo) }),
      ),
      hint: lookupHint(q.name, school.name, suggestions),
    });
  });

  /**
   * The 学籍号 a clerk typed from the family's papers, checked against the pupil she found by school and name: 200
   * with the pupil and that number (what filing needs), or one 404 for every wrong guess — no pupil, another pupil's
   * number, a number that does not exist. Failed matches are limited per user and hour (429 with Retry-After beyond,
   * even for a right one) and audited with the number masked; the counter is in Postgres (services/reach.ts).
   */
  r.post('/match', async (req, res) => {
    const u = currentUser(req);
    const body = parse(StudentMatchBodySchema, req.body);
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
    if (!pupil) {
      throw notFound('学籍号与所选学生不符：请按家长提供的证件核对学籍号、学校和姓名', [
        { path: 'studentNo', message: '学籍号与所选学生不符' },
      ]);
    }
    res.json({
      ...summaryOf(pupil, pupil.school.name, true),
      studentNo: pupil.studentNo,
      birthDate: isoDay(pupil.birthDate),
    });
  });

  /**
   * 新生建籍: a school clerk registers a pupil at her own school. Identity is checked at the door:
   * a valid ID number that agrees with the birth date and gender given (400/422), never two pupils
   * with one ID number (409, also under concurrent requests: the unique index decides), parents' or a
   * guardian's ID numbers for a pupil without household registration; possible duplicates are
   * registered but come back as `warnings`.
   */
  r.post('/', requireRole('SCHOOL_CLERK'), async (req, res) => {
    const u = currentUser(req);
    if (!u.orgCode) throw forbidden('您的账号不属于任何学校，不能登记学生');
    const body = parse(RegisterStudentBodySchema, req.body);
    if (body.schoolCode && body.schoolCode !== u.orgCode) throw forbidden('只能为本校登记学生');
    const schoolCode = u.orgCode;

    let idNumber: string | null = null;
    if (!body.noHouseholdRegistration) {
      const id = parseIdNumber(body.idNumber ?? '');
      // The schema has refused a missing or bad number already; this only narrows the type.
      if (!id.ok) throw badRequest(id.message, [{ path: 'idNumber', message: id.message }]);
      const mismatches = mismatchesWithIdNumber(body, id);
      if (mismatches.length) {
        throw ruleViolation(mismatches.map((m) => m.message.split('：')[0]).join('，'), mismatches);
      }
      idNumber = id.idNumber;
    }

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
    res
      .status(201)
      .location(`/api/students/${created.studentNo}`)
      .json({ ...(await detailOf(prisma, created)), warnings });
  });

  /**
   * The record with its change history, for callers whose reach includes the pupil (domain/reach.ts): the pupil's
   * school and its county bureau, parties to an open case about the pupil, the sending school and bureau for 30 days
   * after an approved transfer, administrators. Others — a school that withdrew its case, too — get 404.
   */
  r.get('/:studentNo', async (req, res) => {
    const u = currentUser(req);
    const { studentNo } = parse(z.object({ studentNo: StudentNoSchema }), req.params);
    const pupil = await prisma.student.findUnique({
      where: { studentNo },
      include: { school: true, history: { orderBy: { createdAt: 'asc' } } },
    });
    // Outside reach the same 404 as for a number that does not exist: nothing tells them apart.
    if (!pupil || !(await isWithinReach(prisma, u, studentNo))) {
      throw notFound(`没有找到学籍号为 ${maskStudentNoToRegion(studentNo)} 的学生，或您无权查看`);
    }
    res.json(await detailOf(prisma, pupil));
  });
  return r;
}

/** The OpenAPI paths of this router. */
export function registerStudentPaths(reg: OpenAPIRegistry) {
  reg.registerPath({
    method: 'get',
    path: '/api/students',
    summary: '按学校和姓名精确查找学生（附在办业务提示）；找不到时给出姓名相近的学生（形近字、同音字、音近字依次排列）',
    security: secured,
    request: { query: StudentLookupQuerySchema },
    responses: {
      200: json(StudentLookupResultSchema, '查找结果（学籍号和身份证号已脱敏）'),
      400: problem('缺少学校代码或姓名'),
      404: problem('学校不存在'),
    },
  });
  reg.registerPath({
    method: 'post',
    path: '/api/students',
    summary: '新生建籍（本校学籍管理员）',
    security: secured,
    request: requestBody(RegisterStudentBodySchema),
    responses: {
      201: json(RegisteredStudentSchema, '已登记；warnings 列出可能重复的学生'),
      400: problem('字段有误：姓名、身份证号（校验码、出生日期）、无户籍学生缺少父母或监护人身份证号等'),
      403: problem('非学校学籍管理员，或不是本校'),
      409: problem('该身份证号已登记学籍'),
      422: problem('出生日期或性别与身份证号不一致'),
    },
  });
  reg.registerPath({
    method: 'post',
    path: '/api/students/match',
    summary: '核对学籍号：按家长提供的证件填写的完整学籍号是否为按学校和姓名找到的学生',
    description:
      '每个用户每小时最多核对失败 10 次，超过后（即使号码正确）返回 429 和 Retry-After；每次失败均记入审计（学籍号脱敏）。',
    security: secured,
    request: requestBody(StudentMatchBodySchema),
    responses: {
      200: json(StudentMatchSchema, '相符：学生信息和完整学籍号，可用于提交申请'),
      400: problem('字段有误'),
      404: problem('不相符（学生不存在、学籍号不是该生的或不存在，一律如此）'),
      429: problem('一小时内核对失败过多'),
    },
  });
  reg.registerPath({
    method: 'get',
    path: '/api/students/{studentNo}',
    summary: '学生学籍及异动记录',
    security: secured,
    request: { params: z.object({ studentNo: z.string() }) },
    responses: {
      200: json(StudentDetailSchema, '学籍'),
      404: problem('不存在，或学生不在您的办理范围内（本校及本县学生、您参与的在办业务、转出后 30 天内）'),
    },
  });
}
