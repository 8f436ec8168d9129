import {
  z,
  ApplicationStatusSchema,
  ChangeTypeSchema,
  freeText,
  GenderSchema,
  orgCode,
  OrgRefSchema,
  orNull,
  StageSchema,
  StudentStatusSchema,
} from './common';
import { OpenCaseNoteSchema, ReversedChangeNoteSchema, StudentHistoryLineSchema } from './students';

export const PupilSearchQuerySchema = z.object({
  q: freeText('姓名或学籍号', { min: 1, max: 50 }).meta({
    description: '学籍号（完整，G 或 L 开头），或姓名（可只写一部分）',
  }),
  schoolCode: orgCode('学校代码').optional().meta({ description: '只查这所学校' }),
  status: StudentStatusSchema.optional(),
});

export const PupilListItemSchema = z
  .object({
    ref: z.string().meta({ description: '学生页的编号（不含证件号码）' }),
    studentNo: z.string().meta({ description: '学籍号（已脱敏）' }),
    name: z.string(),
    gender: GenderSchema,
    birthDate: z.string(),
    schoolCode: z.string(),
    schoolName: z.string(),
    grade: z.number().int(),
    className: z.string(),
    status: StudentStatusSchema,
    problemFlag: z.boolean(),
    openCase: orNull(OpenCaseNoteSchema),
    reversedChange: orNull(ReversedChangeNoteSchema).meta({
      description: '该学生最近一次办结的异动已被纠错（撤销）：何时、由哪个纠错业务',
    }),
  })
  .meta({ id: 'PupilListItem' });

export const PupilSearchResultSchema = z
  .object({
    items: z.array(PupilListItemSchema),
    more: z.boolean().meta({ description: '还有更多结果：请输入更完整的姓名或选择学校' }),
  })
  .meta({ id: 'PupilSearchResult' });

export const PupilRefParamsSchema = z.object({
  ref: z.uuid({ error: '学生编号格式不正确' }),
});

export const PupilCaseSchema = z
  .object({
    id: z.number().int(),
    type: ChangeTypeSchema,
    status: ApplicationStatusSchema,
    currentStage: orNull(StageSchema),
    fromSchool: OrgRefSchema,
    toSchool: orNull(OrgRefSchema),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'PupilCase' });

export const PupilPageSchema = PupilListItemSchema.extend({
  studentNo: z.string().meta({ description: '学籍号（完整：调用者可查看该学生）' }),
  idNumberMasked: z.string().nullable(),
  history: z.array(StudentHistoryLineSchema),
  cases: z.array(PupilCaseSchema).meta({ description: '调用者可查看的该学生的全部业务，最新的在前' }),
}).meta({ id: 'PupilPage' });
