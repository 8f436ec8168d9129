import {
  z,
  ApplicationStatusSchema,
  ChangeTypeSchema,
  DecisionSchema,
  OrgRefSchema,
  StageSchema,
  StudentNoSchema,
  isoDate,
} from './common';

export const CreateApplicationBodySchema = z
  .object({
    type: ChangeTypeSchema,
    studentNo: StudentNoSchema,
    reason: z.string({ error: '请填写异动原因' }).trim().min(1, '请填写异动原因').max(500, '异动原因最多 500 字'),
    effectiveDate: isoDate('异动日期'),
    toSchoolCode: z.string().trim().min(1).max(20).optional(),
  })
  .meta({ id: 'CreateApplicationBody' });

export const DecisionBodySchema = z
  .object({
    stage: StageSchema,
    decision: DecisionSchema,
    comment: z.string().trim().max(500, '审核意见最多 500 字').optional(),
  })
  .superRefine((v, ctx) => {
    if (v.decision !== 'APPROVE' && !v.comment) {
      ctx.addIssue({ code: 'custom', path: ['comment'], message: '不同意或退回时必须填写理由' });
    }
  })
  .meta({ id: 'DecisionBody' });

export const WithdrawBodySchema = z
  .object({
    reason: z.string({ error: '请填写撤销原因' }).trim().min(1, '请填写撤销原因').max(500, '撤销原因最多 500 字'),
  })
  .meta({ id: 'WithdrawBody' });

const booleanQuery = z.enum(['true', 'false']).transform((v) => v === 'true');

export const ListApplicationsQuerySchema = z.object({
  status: ApplicationStatusSchema.optional(),
  type: ChangeTypeSchema.optional(),
  stage: StageSchema.optional(),
  overdue: booleanQuery.optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.coerce.number().int().positive().optional(),
});

export const ApplicationIdParamsSchema = z.object({
  id: z.coerce.number({ error: '业务编号应为数字' }).int().positive('业务编号应为正整数'),
});

export const StepSchema = z
  .object({
    stage: StageSchema,
    org: OrgRefSchema,
    decision: DecisionSchema.nullable(),
    actor: z.string().nullable(),
    comment: z.string().nullable(),
    openedAt: z.string().nullable(),
    decidedAt: z.string().nullable(),
    dueAt: z.string().nullable(),
  })
  .meta({ id: 'Step' });

export const ApplicationSchema = z
  .object({
    id: z.number().int(),
    type: ChangeTypeSchema,
    status: ApplicationStatusSchema,
    student: z.object({ studentNo: z.string(), name: z.string(), schoolCode: z.string() }),
    fromSchool: OrgRefSchema,
    toSchool: OrgRefSchema.nullable(),
    currentStage: StageSchema.nullable(),
    currentOrg: OrgRefSchema.nullable(),
    reason: z.string(),
    effectiveDate: z.string(),
    closeReason: z.string().nullable(),
    steps: z.array(StepSchema),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: 'Application' });

export const ApplicationListSchema = z
  .object({ items: z.array(ApplicationSchema), nextCursor: z.number().int().nullable() })
  .meta({ id: 'ApplicationList' });

export const TaskListSchema = z
  .object({ items: z.array(ApplicationSchema), total: z.number().int() })
  .meta({ id: 'TaskList' });

export const StuckQuerySchema = z.object({
  overdueOnly: booleanQuery.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

export const StuckCaseSchema = z
  .object({
    id: z.number().int(),
    type: ChangeTypeSchema,
    status: ApplicationStatusSchema,
    currentStage: StageSchema.nullable(),
    holder: OrgRefSchema.nullable(),
    createdAt: z.string(),
    ageHours: z.number(),
    stageSince: z.string().nullable(),
    hoursInStage: z.number().nullable(),
    dueAt: z.string().nullable(),
    overdue: z.boolean(),
    workflowStarted: z.boolean(),
  })
  .meta({ id: 'StuckCase' });
