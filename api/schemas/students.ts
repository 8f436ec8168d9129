import { z, ChangeTypeSchema, GenderSchema, StudentStatusSchema } from './common';

export const StudentLookupQuerySchema = z.object({
  schoolCode: z.string({ error: '请填写学校代码' }).trim().min(1, '请填写学校代码').max(20),
  name: z.string({ error: '请填写学生姓名' }).trim().min(1, '请填写学生姓名').max(50),
});

export const StudentSummarySchema = z
  .object({
    studentNo: z.string().meta({ description: '学籍号（证件部分已脱敏）' }),
    name: z.string(),
    gender: GenderSchema,
    birthDate: z.string(),
    schoolCode: z.string(),
    schoolName: z.string(),
    grade: z.number().int(),
    status: StudentStatusSchema,
    idNumberMasked: z.string().nullable(),
  })
  .meta({ id: 'StudentSummary' });

export const StudentHistoryLineSchema = z
  .object({
    type: ChangeTypeSchema,
    applicationId: z.number().int().nullable(),
    effectiveDate: z.string(),
    fromSchool: z.object({ code: z.string(), name: z.string() }).nullable(),
    toSchool: z.object({ code: z.string(), name: z.string() }).nullable(),
    fromStatus: StudentStatusSchema,
    toStatus: StudentStatusSchema,
    fromGrade: z.number().int().nullable(),
    toGrade: z.number().int().nullable(),
    approvedBy: z.array(z.string()),
    recordedAt: z.string(),
  })
  .meta({ id: 'StudentHistoryLine' });

export const StudentDetailSchema = StudentSummarySchema.extend({
  className: z.string(),
  problemFlag: z.boolean(),
  history: z.array(StudentHistoryLineSchema),
}).meta({ id: 'StudentDetail' });
