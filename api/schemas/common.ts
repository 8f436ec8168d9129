import { z } from 'zod';
import {
  APPLICATION_STATUSES,
  CHANGE_TYPES,
  DECISIONS,
  GENDERS,
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

export const StudentNoSchema = z
  .string({ error: '请填写学籍号' })
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
