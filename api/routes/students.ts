import { Router } from 'express';
import type { AppDeps } from '../app';
import { currentUser, requireRole } from '../auth';
import { badRequest, forbidden, notFound, ruleViolation, type FieldError } from '../errors';
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
import { maskStudentNoToRegion, parseIdNumber } from '../../domain/id-number';
import { lookupStudents, matchStudent, registerStudent, studentDetailFor, summaryOf } from '../services/students';

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
    res.json(await lookupStudents(prisma, currentUser(req), q));
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
    const pupil = await matchStudent(prisma, u, body);
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

    const { detail, studentNo, warnings } = await registerStudent(prisma, u, schoolCode, idNumber, body);
    res
      .status(201)
      .location(`/api/students/${studentNo}`)
      .json({ ...detail, warnings });
  });

  /**
   * The record with its change history, for callers whose reach includes the pupil (domain/reach.ts): the pupil's
   * school and its county bureau, parties to an open case about the pupil, the sending school and bureau for 30 days
   * after an approved transfer, administrators. Others — a school that withdrew its case, too — get 404.
   */
  r.get('/:studentNo', async (req, res) => {
    const u = currentUser(req);
    const { studentNo } = parse(z.object({ studentNo: StudentNoSchema }), req.params);
    const detail = await studentDetailFor(prisma, u, studentNo);
    // Outside reach the same 404 as for a number that does not exist: nothing tells them apart.
    if (!detail) throw notFound(`没有找到学籍号为 ${maskStudentNoToRegion(studentNo)} 的学生，或您无权查看`);
    res.json(detail);
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
      404: problem('不存在，或学生不在您的办理范围内（本校或本辖区学校的学生、您参与的在办业务、转出后 30 天内）'),
    },
  });
}
