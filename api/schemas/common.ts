import { z } from 'zod';
import {
  APPLICATION_STATUSES,
  CHANGE_TYPES,
  DECISIONS,
  GENDERS,
  ORG_KINDS,
  ROLES,
  STAGES,
  STUDENT_STATUSES,
} from '../../domain/types';
import { isValidStudentNo } from '../../domain/id-number';
import { normaliseIdInput, textError } from '../../domain/text';
import { shanghaiDate } from '../../domain/calendar';

// Validation messages a clerk can read.
z.config(z.locales.zhCN());

export { z };

export const ChangeTypeSchema = z.enum(CHANGE_TYPES).meta({ id: 'ChangeType', description: '异动类型' });
export const ApplicationStatusSchema = z.enum(APPLICATION_STATUSES).meta({ id: 'ApplicationStatus' });
export const StageSchema = z.enum(STAGES).meta({ id: 'Stage', description: '审核环节' });
export const DecisionSchema = z.enum(DECISIONS).meta({ id: 'Decision' });
export const RoleSchema = z.enum(ROLES).meta({ id: 'Role' });
export const OrgKindSchema = z
  .enum(ORG_KINDS)
  .meta({ id: 'OrgKind', description: '单位类型：SCHOOL 学校，COUNTY 区县教育局，CITY 地市教育局，PROVINCE 省教育厅' });
export const StudentStatusSchema = z.enum(STUDENT_STATUSES).meta({ id: 'StudentStatus' });
export const GenderSchema = z.enum(GENDERS).meta({ id: 'Gender' });

/**
 * A named component or null. Not `.nullable()`: the OpenAPI generator looks through nullable to the component's id,
 * so whichever use it meets first decides whether the component itself (Stage, Decision …) allows null everywhere.
 */
export const orNull = <T extends z.ZodType>(schema: T) => z.union([schema, z.null()]);

export const OrgRefSchema = z.object({ code: z.string(), name: z.string() }).meta({ id: 'OrgRef' });

/**
 * The one type for every string a person types (DESIGN §5, STYLE 18): trimmed; control characters (but tab and
 * newline), lone surrogates and bidi overrides refused with a message naming the problem; length bounded in
 * characters (code points, as a clerk counts them). `label` names the field in Chinese for the messages.
 */
export function freeText(label: string, opts: { max: number; min?: number; multiline?: boolean }) {
  const min = opts.min ?? 0;
  return z
    .string({ error: `请填写${label}` })
    .superRefine((s, ctx) => {
      const message = textError(s);
      if (message) ctx.addIssue({ code: 'custom', message: `${label}${message}`, abort: true });
      else if (!opts.multiline && /[\n\r]/.test(s)) {
        ctx.addIssue({ code: 'custom', message: `${label}不能换行`, abort: true });
      }
    })
    .transform((s) => s.trim())
    .pipe(
      z
        .string()
        .refine((s) => Array.from(s).length >= min, min <= 1 ? `请填写${label}` : `${label}至少 ${min} 个字`)
        .refine((s) => Array.from(s).length <= opts.max, `${label}最多 ${opts.max} 个字`),
    );
}

/**
 * A new password: not trimmed (spaces may be part of it) and not otherwise restricted, but no control, direction
 * or broken characters — nobody could type it again. (Login compares whatever is sent: old passwords keep working.)
 */
export const newPassword = (label: string) =>
  z
    .string({ error: `请填写${label}` })
    .min(1, `请填写${label}`)
    .max(256, `${label}最多 256 个字符`)
    .superRefine((s, ctx) => {
      const message = textError(s);
      if (message) ctx.addIssue({ code: 'custom', message: `${label}${message}` });
    });

/** The largest id Postgres's `integer` holds: larger ids cannot exist, and would fail in the query. */
export const MAX_SERIAL = 2_147_483_647;

/**
 * A database id in a path or query (cases, attachments, users, cursors): digits only — no sign, no leading zero,
 * no 1e3 or 1.0 — at most 2³¹−1. Documented as an integer; a number in a JSON body passes the same bounds.
 */
export const serialId = (label: string) =>
  z.preprocess(
    (v, ctx) => {
      if (typeof v === 'string' && !/^[1-9]\d{0,9}$/.test(v)) {
        ctx.addIssue({ code: 'custom', message: `${label}应为正整数（只含数字，不以 0 开头）`, input: v });
        return z.NEVER;
      }
      return v;
    },
    z.coerce
      .number({ error: `${label}应为正整数` })
      .int(`${label}应为正整数`)
      .positive(`${label}应为正整数`)
      .max(MAX_SERIAL, `${label}过大`),
  );

/** An organisation's code (学校标识码, 行政区划代码): the free-text rule, then letters and digits only. */
export const orgCode = (label: string) =>
  freeText(label, { min: 1, max: 20 }).refine((s) => /^[0-9A-Za-z]+$/.test(s), `${label}只能由数字和字母组成`);

/**
 * An ID number as typed (学生、父母、监护人的身份证号): full-width digits and a lowercase x are accepted (Chinese
 * input methods produce them), control and direction characters are refused by the free-text rule first.
 */
export const idNumberInput = (label: string) => freeText(label, { max: 40 }).transform(normaliseIdInput);

export const StudentNoSchema = freeText('学籍号', { min: 1, max: 40 })
  .transform(normaliseIdInput)
  .refine(isValidStudentNo, '学籍号格式不正确：应为 G 加 18 位身份证号，或 L 开头的临时学籍号')
  .meta({ description: '全国学籍号', example: 'G520302201505050014' });

/** A calendar date as YYYY-MM-DD: one clear message per problem, never two for the same mistake. */
export const isoDate = (field: string) =>
  z.string({ error: `请填写${field}` }).superRefine((s, ctx) => {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(s)) {
      ctx.addIssue({ code: 'custom', message: `${field}格式应为 YYYY-MM-DD` });
      return;
    }
    const d = new Date(`${s}T00:00:00Z`);
    if (Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== s) {
      ctx.addIssue({ code: 'custom', message: `${field}不是有效日期` });
    }
  });

/** A stored date (a UTC midnight) as YYYY-MM-DD. */
export const isoDay = (d: Date): string => d.toISOString().slice(0, 10);
/** Today in China (Asia/Shanghai) as YYYY-MM-DD, for date windows: a clerk's "today", not UTC's. */
export const todayIso = (): string => shanghaiDate(Date.now());

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    requestId: z.string().optional(),
    applicationId: z.number().int().optional().meta({
      description: "409 on filing: the pupil's open case (after a retried filing, probably the caller's own)",
    }),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details; messages Chinese first' });

/** Parses input or throws the ZodError the error middleware turns into a 400 naming the fields. */
export function parse<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  return schema.parse(value ?? {});
}
