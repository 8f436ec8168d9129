import { z, DecisionSchema, OrgRefSchema, StageSchema, freeText, isoDate, orgCode, serialId } from './common';
import { arrangementProblems } from '../../domain/calendar';

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** A real calendar day: '2026-02-30' and '2026-13-45' are not (Date would throw on the second). */
const isDay = (s: string) => {
  if (!DAY.test(s)) return false;
  const t = Date.parse(`${s}T00:00:00Z`);
  return !Number.isNaN(t) && new Date(t).toISOString().slice(0, 10) === s;
};

/** A moment as ISO 8601 with an offset, or a bare date (a whole day, UTC). */
const moment = (field: string) =>
  freeText(field, { min: 1, max: 40 }).refine(
    (s) => (DAY.test(s) ? isDay(s) : z.iso.datetime({ offset: true }).safeParse(s).success && isDay(s.slice(0, 10))),
    `${field}应为日期（YYYY-MM-DD）或带时区的时间（如 2026-09-01T08:00:00+08:00）`,
  );

const endOfDay = (day: string) => new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000 - 1);

/** The filters of GET /api/admin/audit as documented (the parser below adds the cross-field checks). */
export const AuditQueryFieldsSchema = z.object({
  actor: freeText('操作人', { min: 1, max: 64 }).optional().meta({ description: '操作人：用户编号或用户名' }),
  org: orgCode('单位代码').optional().meta({ description: '操作人所在单位的代码' }),
  applicationId: serialId('业务编号').optional(),
  action: freeText('操作类型', { min: 1, max: 64 })
    .pipe(
      z.string().regex(/^[a-z_]+(\.[a-z_]+)*(\.\*)?$/, '操作类型形如 application.decide，或 application.* 表示一类'),
    )
    .optional()
    .meta({ description: '操作类型，如 application.decide；以 .* 结尾表示该类全部，如 auth.*' }),
  from: moment('起始时间').optional().meta({ description: '起始（含），如 2026-09-01 或 2026-09-01T08:00:00+08:00' }),
  to: moment('截止时间').optional().meta({ description: '截止（含）；只写日期时含当天全天（UTC）' }),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z
    .string()
    .regex(/^[1-9]\d{0,17}$/, '游标应为上一页返回的 nextCursor')
    .optional()
    .meta({ description: '上一页的 nextCursor（序号）：返回比它更早的记录' }),
});

const KNOWN = new Set(Object.keys(AuditQueryFieldsSchema.shape));

/**
 * Unknown parameters are refused, naming them: a mistyped filter (applicationID=…) must not quietly
 * return the whole trail.
 */
export const AuditQuerySchema = AuditQueryFieldsSchema.catchall(z.unknown())
  .superRefine(
    (q, ctx) => {
      for (const k of Object.keys(q)) {
        if (!KNOWN.has(k)) ctx.addIssue({ code: 'custom', path: [k], message: '不支持的查询参数' });
      }
    },
    { when: (p) => typeof p.value === 'object' && p.value !== null },
  )
  .transform((q, ctx) => {
    const from = q.from ? new Date(q.from) : undefined;
    const to = q.to ? (DAY.test(q.to) ? endOfDay(q.to) : new Date(q.to)) : undefined;
    if (from && to && from > to) {
      ctx.addIssue({ code: 'custom', path: ['to'], message: '截止时间不能早于起始时间' });
      return z.NEVER;
    }
    return {
      actor: q.actor,
      org: q.org,
      applicationId: q.applicationId,
      action: q.action,
      from,
      to,
      limit: q.limit,
      cursor: q.cursor === undefined ? undefined : BigInt(q.cursor),
    };
  });

export const AuditEventSchema = z
  .object({
    seq: z.string().meta({ description: '序号（64 位整数，以字符串表示）' }),
    at: z.string(),
    actor: z.object({ id: z.number().int(), name: z.string().nullable() }).nullable(),
    orgCode: z.string().nullable(),
    action: z.string(),
    entityType: z.string().nullable(),
    entityId: z.string().nullable(),
    applicationId: z.number().int().nullable(),
    details: z.record(z.string(), z.unknown()).nullable(),
    prevHash: z.string(),
    hash: z.string(),
  })
  .meta({ id: 'AuditEvent', description: '审计记录；hash = sha256(prevHash + 规范化内容)' });

export const AuditListSchema = z
  .object({ items: z.array(AuditEventSchema), nextCursor: z.string().nullable() })
  .meta({ id: 'AuditList' });

export const AuditVerifySchema = z
  .object({
    ok: z.boolean(),
    count: z.number().int().meta({ description: '校验过的记录数' }),
    headHash: z.string().nullable().meta({ description: '链头哈希（请另行保存，以便发现最新记录被删除）' }),
    brokenAt: z.string().nullable().meta({ description: '第一条不符的记录序号' }),
    reason: z.string().nullable(),
  })
  .meta({ id: 'AuditVerify' });

/** An administrator decides a stage in place of its organisation: only with a reason, always audited. */
export const OverrideBodySchema = z
  .object({
    stage: StageSchema,
    decision: DecisionSchema,
    reason: freeText('代为审核的原因', { min: 5, max: 500, multiline: true }),
    comment: freeText('审核意见', { max: 500, multiline: true })
      .optional()
      .meta({ description: '写入该环节的审核意见；不填时为代为审核的原因' }),
  })
  .meta({ id: 'OverrideBody' });

/** GET /api/admin/stats: JSON unless format=xlsx (the same as GET /api/admin/stats.xlsx). */
export const StatsQuerySchema = z.strictObject({
  format: z
    .enum(['json', 'xlsx'], { error: '格式应为 json 或 xlsx' })
    .default('json')
    .meta({ description: 'xlsx：下载 Excel 工作簿（同 /api/admin/stats.xlsx）' }),
});

const measures = {
  open: z.number().int().meta({ description: '在办：当前停在此处的审核中业务' }),
  overdue: z.number().int().meta({ description: '超期：在办中当前环节已被标记超期（到期时由流程计时器标记）的' }),
  medianHours: z
    .number()
    .nullable()
    .meta({ description: '已办结环节用时的中位数（小时，一位小数）；无已办结时为 null' }),
  p90Hours: z
    .number()
    .nullable()
    .meta({ description: '已办结环节用时的 90 分位（小时，一位小数）；无已办结时为 null' }),
  medianMinutes: z.number().nullable().meta({
    description: '中位数（分钟）：1 小时以内精确到分钟，以上误差不超过 3.2%（按分钟直方图计算）',
  }),
  p90Minutes: z.number().nullable().meta({ description: '90 分位（分钟），精度同上' }),
  decided: z.number().int().meta({ description: '已办结环节数（各轮次）' }),
};

export const StatsSchema = z
  .object({
    generatedAt: z.string(),
    byStage: z.array(z.object({ stage: StageSchema, ...measures })),
    byOrg: z.array(z.object({ org: OrgRefSchema, ...measures })),
  })
  .meta({ id: 'Stats', description: '按环节、按单位的在办、超期与办理用时' });

export const CalendarYearParamsSchema = z.object({
  year: z
    .string()
    .regex(/^\d{4}$/, '年份应为四位数字')
    .transform(Number)
    .pipe(z.number().int().min(2000, '年份应在 2000 到 2100 之间').max(2100, '年份应在 2000 到 2100 之间')),
});

/**
 * One year's arrangement as an administrator sends it: names and source by the free-text rule, real dates,
 * bounded lists. The contradictions (a holiday on a make-up working day …) are checked by `calendarYearSchema`.
 */
export const CalendarYearBodySchema = z
  .object({
    source: freeText('来源', { min: 1, max: 200 }).optional(),
    holidays: z
      .array(
        z.object({
          name: freeText('节假日名称', { min: 1, max: 20 }),
          dates: z.array(isoDate('放假日期')).min(1, '每个节日至少一天').max(31, '一个节日最多 31 天'),
        }),
      )
      .max(30, '一年最多 30 个节日'),
    workdays: z.array(isoDate('调休上班日期')).max(30, '一年最多 30 个调休上班日'),
  })
  .meta({
    id: 'YearArrangement',
    description:
      '国务院办公厅公布的全年安排：holidays 为每个节日放假的全部日期（含周末），workdays 为调休上班的周六、周日',
    example: {
      source: '国务院办公厅关于2027年部分节假日安排的通知',
      holidays: [{ name: '元旦', dates: ['2027-01-01', '2027-01-02', '2027-01-03'] }],
      workdays: [],
    },
  });

/** The body of PUT /api/admin/calendar/:year: its shape, then the contradictions of that year's arrangement. */
export const calendarYearSchema = (year: number) =>
  CalendarYearBodySchema.superRefine((arrangement, ctx) => {
    for (const message of arrangementProblems(year, arrangement)) ctx.addIssue({ code: 'custom', message });
  });

export const CalendarOverviewSchema = z
  .object({
    years: z.array(
      z.object({
        year: z.number().int(),
        origin: z.enum(['builtin', 'loaded']).meta({ description: 'builtin：随系统发布；loaded：管理员载入' }),
        source: z.string().nullable(),
        holidays: z.number().int().meta({ description: '放假天数（含周末）' }),
        workdays: z.number().int().meta({ description: '调休上班天数' }),
        loadedAt: z.string().nullable(),
      }),
    ),
    provisionalOpenCases: z.number().int().meta({ description: '期限为暂定（跨入未载入年份）的在办业务数' }),
  })
  .meta({ id: 'CalendarOverview' });

export const RepairBodySchema = z
  .object({ reason: freeText('修复原因', { min: 5, max: 500, multiline: true }) })
  .meta({ id: 'RepairBody' });

export const RepairResultSchema = z
  .object({
    repaired: z
      .array(z.string())
      .meta({ description: '去除了无效字符的字段，如 student.name、reason、details.destination' }),
  })
  .meta({ id: 'RepairResult' });
