import {
  z,
  ApplicationStatusSchema,
  ChangeTypeSchema,
  DecisionSchema,
  OrgRefSchema,
  StageSchema,
  StudentNoSchema,
  freeText,
  isoDate,
  orgCode,
  orNull,
  serialId,
  todayIso,
} from './common';

import { shanghaiDate } from '../../domain/calendar';
import { CHANGE_TYPES, detailsIssues, type ChangeType, type DetailField } from '../../domain/change-types';
import { CHANGE_TYPE_SPECS } from '../../domain/change-types/registry';

const shiftDays = (iso: string, days: number) =>
  new Date(Date.parse(`${iso}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);

/** 异动日期: a real date, at most a year before or after today. */
const effectiveDate = isoDate('异动日期').refine(
  (d) => d >= shiftDays(todayIso(), -365) && d <= shiftDays(todayIso(), 365),
  '异动日期应在今天前后一年之内',
);

const reasonField = freeText('异动原因', { min: 1, max: 500, multiline: true });
/** A type's `details` schema, built from its spec's fields (domain/change-types/): only those fields, none more. */
function detailsSchemaOf(type: ChangeType) {
  const fields = CHANGE_TYPE_SPECS[type].fields as readonly DetailField[];
  return z
    .object(
      Object.fromEntries(
        fields.map((f) => {
          const base = f.kind === 'date' ? isoDate(f.label) : freeText(f.label, { min: 1, max: f.max ?? 50 });
          return [f.name, f.required ? base : base.optional()];
        }),
      ),
    )
    .strict();
}

/** The fields each change type needs beyond reason and date. */
export const DETAILS_BY_TYPE = Object.fromEntries(CHANGE_TYPES.map((t) => [t, detailsSchemaOf(t)])) as Record<
  ChangeType,
  ReturnType<typeof detailsSchemaOf>
>;

/** Checks `details` against the type's own fields, then the type's checks between them and the effective date. */
function checkDetails(v: { type: ChangeType; effectiveDate?: string; details?: unknown }, ctx: z.RefinementCtx) {
  const parsed = DETAILS_BY_TYPE[v.type].safeParse(v.details ?? {});
  if (!parsed.success) {
    for (const i of parsed.error.issues) {
      const path = i.code === 'unrecognized_keys' ? [...i.path, ...i.keys] : i.path;
      const message = i.code === 'unrecognized_keys' ? '该异动类型不需要此项' : i.message;
      ctx.addIssue({ code: 'custom', path: ['details', ...path], message });
    }
    return;
  }
  const d = parsed.data as Record<string, string | undefined>;
  for (const issue of detailsIssues(v.type, d, { effectiveDate: v.effectiveDate, today: todayIso() })) {
    ctx.addIssue({ code: 'custom', path: ['details', issue.field], message: issue.message });
  }
}

/** `details` as the API document describes it: each type's fields (? = optional). */
const detailsDescription =
  '按类型：' +
  CHANGE_TYPES.flatMap((t) => {
    const fields = CHANGE_TYPE_SPECS[t].fields as readonly DetailField[];
    return fields.length ? [`${t} {${fields.map((f) => f.name + (f.required ? '' : '?')).join(', ')}}`] : [];
  }).join('；');

export const CreateApplicationBodySchema = z
  .object({
    type: ChangeTypeSchema,
    studentNo: StudentNoSchema,
    reason: reasonField,
    reasonCode: freeText('异动原因代码', { max: 10 })
      .optional()
      .meta({ description: '异动原因代码（GET /api/reason-codes，按类型）；reason 为说明', example: '01' }),
    effectiveDate,
    toSchoolCode: orgCode('转入学校代码').optional(),
    details: z.record(z.string(), z.unknown()).optional().meta({ description: detailsDescription }),
  })
  .superRefine((v, ctx) => checkDetails(v, ctx))
  .meta({ id: 'CreateApplicationBody' });

/** The type-specific checks again, for a corrected case (the type itself cannot change). */
export const DetailsCheckSchema = z
  .object({ type: ChangeTypeSchema, effectiveDate, details: z.record(z.string(), z.unknown()).optional() })
  .superRefine((v, ctx) => checkDetails(v, ctx));

export const ResubmitBodySchema = z
  .object({
    reason: reasonField.optional(),
    effectiveDate: effectiveDate.optional(),
    details: z.record(z.string(), z.unknown()).optional(),
  })
  .meta({ id: 'ResubmitBody', description: '退回后修改并重新提交；未给出的字段保持不变' });

export const CancelBodySchema = z
  .object({
    reason: freeText('取消原因', { min: 1, max: 500, multiline: true }),
  })
  .meta({ id: 'CancelBody' });

export const DecisionBodySchema = z
  .object({
    stage: StageSchema,
    decision: DecisionSchema,
    comment: freeText('审核意见', { max: 500, multiline: true }).optional(),
  })
  .superRefine((v, ctx) => {
    if (v.decision !== 'APPROVE' && !v.comment) {
      ctx.addIssue({ code: 'custom', path: ['comment'], message: '不同意或退回时必须填写理由' });
    }
  })
  .meta({ id: 'DecisionBody' });

export const WithdrawBodySchema = z
  .object({
    reason: freeText('撤销原因', { min: 1, max: 500, multiline: true }),
  })
  .meta({ id: 'WithdrawBody' });

export const ReversalBodySchema = z
  .object({
    reason: freeText('纠错原因', { min: 1, max: 500, multiline: true }),
  })
  .meta({ id: 'ReversalBody' });

const booleanQuery = z.enum(['true', 'false']).transform((v) => v === 'true');

export const ListApplicationsQuerySchema = z.object({
  status: ApplicationStatusSchema.optional(),
  type: ChangeTypeSchema.optional(),
  stage: StageSchema.optional(),
  overdue: booleanQuery.optional(),
  q: freeText('姓名或学籍号', { min: 1, max: 50 })
    .optional()
    .meta({ description: '学生姓名（可只写一部分）或完整学籍号' }),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: serialId('游标').optional().meta({ description: '上一页的 nextCursor' }),
});

export const ApplicationIdParamsSchema = z.object({
  id: serialId('业务编号'),
});

export const StepSchema = z
  .object({
    stage: StageSchema,
    org: OrgRefSchema,
    decision: orNull(DecisionSchema),
    actor: z.string().nullable(),
    comment: z.string().nullable(),
    openedAt: z.string().nullable(),
    decidedAt: z.string().nullable(),
    dueAt: z.string().nullable().meta({ description: '办理期限：该工作日 24 时（北京时间）之前' }),
    dueProvisional: z
      .boolean()
      .meta({ description: '期限跨入尚未公布节假日安排的年份，暂按周一至周五计算，公布后重算' }),
    remindersSent: z.number().int().meta({ description: '已催办次数' }),
    escalatedAt: z.string().nullable().meta({ description: '超期上报时间' }),
  })
  .meta({ id: 'Step' });

export const PredictionSchema = z
  .object({
    p50: z.string().meta({ description: '预计办结日期（一半把握）：到这一天办结的可能性为 50%' }),
    p80: z.string().meta({ description: '预计最迟办结日期（八成把握）：到这一天办结的可能性为 80%' }),
    level: z.enum(['ORG', 'COUNTY', 'PROVINCE', 'PRIOR']).meta({
      description:
        '依据：ORG 各办理单位自己近 12 个月的办理时长；COUNTY/PROVINCE 有单位不足 20 个环节时借用本县/本省同类单位的；PRIOR 无数据，按 0–10 个工作日估计',
    }),
    elapsedWorkingDays: z.number().int().meta({ description: '当前环节已用工作日' }),
    currentStage: z
      .object({ p50: z.string(), p80: z.string() })
      .meta({ description: '当前环节预计办完的日期；p50 晚于办理期限即“预计超期”' }),
    stages: z.array(
      z.object({
        orgCode: z.string(),
        level: z.enum(['ORG', 'COUNTY', 'PROVINCE', 'PRIOR']),
        basis: z.number().int().meta({ description: '所依据的已办环节数' }),
      }),
    ),
  })
  .meta({ id: 'Prediction', description: '在办案件的预计办结日期（北京时间的日期）；已办结、已退回的案件为 null' });

export const ApplicationSchema = z
  .object({
    id: z.number().int(),
    type: ChangeTypeSchema,
    status: ApplicationStatusSchema,
    student: z.object({ studentNo: z.string(), name: z.string(), schoolCode: z.string() }),
    fromSchool: OrgRefSchema,
    toSchool: orNull(OrgRefSchema),
    currentStage: orNull(StageSchema),
    currentOrg: orNull(OrgRefSchema),
    reason: z.string(),
    reasonCode: z.string().nullable().meta({ description: '异动原因代码；名称见 GET /api/reason-codes' }),
    effectiveDate: z.string(),
    details: z.record(z.string(), z.unknown()).nullable(),
    closeReason: z.string().nullable(),
    round: z.number().int(),
    overdue: z.boolean().meta({ description: '当前环节已超过办理期限' }),
    escalated: z.boolean().meta({ description: '当前环节已超期上报' }),
    steps: z.array(StepSchema),
    earlierRounds: z.array(z.object({ round: z.number().int(), steps: z.array(StepSchema) })),
    reverses: z
      .object({ id: z.number().int() })
      .nullable()
      .meta({ description: '纠错业务：被纠错（撤销）的原业务；普通业务为 null' }),
    reversal: z
      .object({
        id: z.number().int(),
        status: ApplicationStatusSchema,
        createdAt: z.string().meta({ description: '纠错申请提交的时间' }),
        closedAt: z.string().nullable().meta({ description: '纠错业务办结的时间（APPROVED 时即纠错生效的时间）' }),
      })
      .nullable()
      .meta({ description: '对本业务最近一次申请的纠错业务；status 为 APPROVED 即本业务已纠错' }),
    createdAt: z.string(),
    updatedAt: z.string(),
    prediction: orNull(PredictionSchema).optional().meta({
      description:
        '预计办结日期：查看单个案件（GET /api/applications/{id}）、业务列表和待办中给出；审核、撤回等操作的应答中没有',
    }),
  })
  .meta({ id: 'Application' });

/** A case in a list (业务列表, 待办): always with its predicted completion, null unless in review. */
export const ApplicationListItemSchema = ApplicationSchema.extend({
  prediction: orNull(PredictionSchema).meta({
    description: '预计办结日期（一页的案件一并计算）；已退回、已办结的案件为 null',
  }),
}).meta({ id: 'ApplicationListItem' });

export const ApplicationListSchema = z
  .object({ items: z.array(ApplicationListItemSchema), nextCursor: z.number().int().nullable() })
  .meta({ id: 'ApplicationList' });

export const TaskListSchema = z
  .object({
    items: z.array(ApplicationListItemSchema),
    total: z.number().int().meta({ description: '待办总数（不只本页）' }),
    nextCursor: z.string().nullable().meta({ description: '下一页的 cursor；null：没有更多' }),
  })
  .meta({ id: 'TaskList' });

/** 待办 pages: longest-waiting first; the cursor is opaque (where the last page ended). */
export const TasksQuerySchema = z.object({
  limit: z.coerce
    .number({ error: 'limit 应为数字' })
    .int()
    .min(1, 'limit 至少为 1')
    .max(500, 'limit 最多 500')
    .default(100),
  cursor: z
    .string()
    .regex(/^\d{1,15}\.\d{1,10}$/, 'cursor 应为上一页返回的 nextCursor')
    .refine((c) => Number(c.split('.')[1]) <= 2_147_483_647, 'cursor 应为上一页返回的 nextCursor')
    .optional(),
});

export const StuckQuerySchema = z.object({
  kind: z
    .enum(['all', 'overdue', 'technical'], { error: 'kind 应为 all、overdue 或 technical' })
    .optional()
    .meta({ description: 'all：全部在办及技术故障；overdue：超期；technical：流程故障（活动反复失败、流程未启动）' }),
  /** Kept from the first contract: overdueOnly=true is kind=overdue. */
  overdueOnly: booleanQuery.optional().meta({ description: '同 kind=overdue（旧参数）' }),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

export const FailingActivitySchema = z
  .object({
    activityType: z.string().meta({ description: '活动名称，如 notify（发邮件）、recordDecision（写入审核结果）' }),
    attempt: z.number().int().meta({ description: '当前第几次尝试（2 表示已失败 1 次）' }),
    lastFailure: z.string().nullable(),
    lastAttemptAt: z.string().nullable(),
    nextAttemptAt: z.string().nullable(),
  })
  .meta({ id: 'FailingActivity' });

export const StuckCaseSchema = z
  .object({
    id: z.number().int(),
    type: ChangeTypeSchema,
    student: z.object({ name: z.string() }),
    status: ApplicationStatusSchema,
    currentStage: orNull(StageSchema),
    holder: orNull(OrgRefSchema),
    createdAt: z.string(),
    ageHours: z.number(),
    stageSince: z.string().nullable(),
    hoursInStage: z.number().nullable(),
    dueAt: z.string().nullable(),
    dueProvisional: z.boolean(),
    overdue: z.boolean(),
    overdueHours: z.number().nullable(),
    remindersSent: z.number().int(),
    lastRemindedAt: z.string().nullable(),
    escalated: z.boolean(),
    escalatedAt: z.string().nullable(),
    escalatedTo: orNull(OrgRefSchema).meta({ description: '上报给谁：县教育局，或 {code: "ADMIN"} 系统管理员' }),
    workflowStarted: z.boolean(),
    technical: z.boolean().meta({ description: '流程故障：有活动反复失败，或流程未启动' }),
    failingActivities: z.array(FailingActivitySchema),
    prediction: orNull(PredictionSchema),
    predictedOverdue: z
      .boolean()
      .meta({ description: '预计超期：尚未超期，但当前环节预计（p50）办完的日期晚于办理期限' }),
  })
  .meta({ id: 'StuckCase' });

export const StuckListSchema = z
  .object({
    items: z.array(StuckCaseSchema),
    technicalUnavailable: z.boolean().meta({ description: '无法连接 Temporal：技术故障信息缺失' }),
  })
  .meta({ id: 'StuckList' });

export const ExtendBodySchema = z
  .object({
    stage: StageSchema,
    dueDate: isoDate('新的办理期限').refine((d) => d >= shanghaiDate(Date.now()), '新的办理期限不能早于今天'),
    reason: freeText('延期原因', { min: 5, max: 500, multiline: true }),
  })
  .meta({ id: 'ExtendBody', description: '延长（或调整）当前环节的办理期限：到该日 24 时（北京时间）' });
