import { Router } from 'express';
import type { AppDeps } from '../app';
import { currentUser } from '../auth';
import { notFound } from '../errors';
import { parse, StudentNoSchema, z } from '../schemas/common';
import { StudentDetailSchema, StudentLookupQuerySchema, StudentSummarySchema } from '../schemas/students';
import { json, problem, secured, type OpenAPIRegistry } from '../openapi-helpers';
import { maskIdNumber, maskStudentNo } from '../../domain/id-number';
import { readableOrgs } from '../services/applications';

const day = (d: Date) => d.toISOString().slice(0, 10);

export function studentRoutes({ prisma }: AppDeps): Router {
  const r = Router();

  /**
   * Exact-name lookup at one school — how a receiving school finds the pupil it will take in.
   * ID numbers are masked; 400 when schoolCode or name is missing.
   */
  r.get('/', async (req, res) => {
    const q = parse(StudentLookupQuerySchema, req.query);
    const school = await prisma.organisation.findUnique({ where: { code: q.schoolCode } });
    if (!school || school.kind !== 'SCHOOL') throw notFound(`没有代码为 ${q.schoolCode} 的学校，请核对学校代码`);
    const pupils = await prisma.student.findMany({
      where: { schoolCode: q.schoolCode, name: q.name },
      orderBy: { studentNo: 'asc' },
      take: 50,
    });
    res.json({
      items: pupils.map((p) => ({
        // Masked like the ID number it contains; the clerk files with the number on the family's papers.
        studentNo: maskStudentNo(p.studentNo),
        name: p.name,
        gender: p.gender,
        birthDate: day(p.birthDate),
        schoolCode: p.schoolCode,
        schoolName: school.name,
        grade: p.grade,
        status: p.status,
        idNumberMasked: maskIdNumber(p.idNumber),
      })),
    });
  });

  /**
   * The record with its change history: for the pupil's school and its county bureau, the
   * organisations a case of this pupil has reached, and administrators. Others get 404.
   */
  r.get('/:studentNo', async (req, res) => {
    const u = currentUser(req);
    const { studentNo } = parse(z.object({ studentNo: StudentNoSchema }), req.params);
    const pupil = await prisma.student.findUnique({
      where: { studentNo },
      include: { school: true, history: { orderBy: { createdAt: 'asc' } } },
    });
    const orgs = await readableOrgs(prisma, u);
    const allowed =
      pupil &&
      (orgs === null ||
        orgs.includes(pupil.schoolCode) ||
        (await prisma.application.count({
          where: { studentNo, steps: { some: { orgCode: { in: orgs }, openedAt: { not: null } } } },
        })) > 0);
    if (!pupil || !allowed) throw notFound(`没有找到学籍号为 ${maskStudentNo(studentNo)} 的学生，或您无权查看`);

    const codes = [
      ...new Set(pupil.history.flatMap((h) => [h.fromSchoolCode, h.toSchoolCode]).filter(Boolean)),
    ] as string[];
    const names = new Map(
      (await prisma.organisation.findMany({ where: { code: { in: codes } } })).map((o) => [o.code, o.name]),
    );
    const ref = (c: string | null) => (c ? { code: c, name: names.get(c) ?? c } : null);
    res.json({
      studentNo: pupil.studentNo,
      name: pupil.name,
      gender: pupil.gender,
      birthDate: day(pupil.birthDate),
      schoolCode: pupil.schoolCode,
      schoolName: pupil.school.name,
      grade: pupil.grade,
      className: pupil.className,
      status: pupil.status,
      problemFlag: pupil.problemFlag,
      idNumberMasked: maskIdNumber(pupil.idNumber),
      history: pupil.history.map((h) => ({
        type: h.type,
        applicationId: h.applicationId,
        effectiveDate: day(h.effectiveDate),
        fromSchool: ref(h.fromSchoolCode),
        toSchool: ref(h.toSchoolCode),
        fromStatus: h.fromStatus,
        toStatus: h.toStatus,
        fromGrade: h.fromGrade,
        toGrade: h.toGrade,
        approvedBy: h.approvedBy,
        recordedAt: h.createdAt.toISOString(),
      })),
    });
  });
  return r;
}

/** The OpenAPI paths of this router. */
export function registerStudentPaths(reg: OpenAPIRegistry) {
  reg.registerPath({
    method: 'get',
    path: '/api/students',
    summary: '按学校和姓名精确查找学生',
    security: secured,
    request: { query: StudentLookupQuerySchema },
    responses: {
      200: json(z.object({ items: z.array(StudentSummarySchema) }), '查找结果（身份证号已脱敏）'),
      400: problem('缺少学校代码或姓名'),
      404: problem('学校不存在'),
    },
  });
  reg.registerPath({
    method: 'get',
    path: '/api/students/{studentNo}',
    summary: '学生学籍及异动记录',
    security: secured,
    request: { params: z.object({ studentNo: z.string() }) },
    responses: { 200: json(StudentDetailSchema, '学籍'), 404: problem('不存在或无权查看') },
  });
}
