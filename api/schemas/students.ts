import {
  z,
  ChangeTypeSchema,
  GenderSchema,
  OrgRefSchema,
  orNull,
  StudentNoSchema,
  StudentStatusSchema,
  freeText,
  orgCode,
  todayIso,
} from './common';
import { parseIdNumber } from '../../domain/id-number';
import { normaliseIdInput, textError } from '../../domain/text';
import { GENDERS } from '../../domain/types';

export const StudentLookupQuerySchema = z.object({
  schoolCode: orgCode('学校代码'),
  name: freeText('学生姓名', { min: 1, max: 50 }),
});

/** POST /api/students/match: the 学籍号 from the family's papers, checked against the pupil found by name. */
export const StudentMatchBodySchema = z
  .object({
    schoolCode: orgCode('学校代码'),
    name: freeText('学生姓名', { min: 1, max: 50 }),
    studentNo: StudentNoSchema,
  })
  .meta({ id: 'StudentMatchBody' });

/** The open case of a pupil as the lookup tells it: no destination unless the caller is a party. */
export const OpenCaseNoteSchema = z
  .object({
    type: ChangeTypeSchema,
    status: z.enum(['IN_REVIEW', 'RETURNED']),
    label: z.string().meta({
      description: '如“在办（转学，审核中）”；调用者是该业务的当事单位时才写明转入学校',
      example: '在办（转学，审核中）',
    }),
    applicationId: z.number().int().nullable().meta({ description: '仅当事单位可见：业务编号' }),
    toSchool: orNull(OrgRefSchema).meta({ description: '仅当事单位可见：转入学校' }),
  })
  .meta({ id: 'OpenCaseNote' });

/** The pupil's most recent completed change was reversed (纠错): said at every lookup, as an open case is. */
export const ReversedChangeNoteSchema = z
  .object({
    type: ChangeTypeSchema.meta({ description: '被纠错（撤销）的异动类型' }),
    reversedOn: z.string().meta({ description: '纠错审批通过（学籍恢复）的日期' }),
    label: z.string().meta({
      description:
        '如“已纠错（最近一次转学，业务 12，2026-12-03 经纠错撤销，纠错业务 15）”；业务编号仅调用者可查看时写明',
      example: '已纠错（最近一次转学，2026-12-03 经纠错撤销）',
    }),
    applicationId: z.number().int().nullable().meta({ description: '被纠错的业务编号（调用者可查看时）' }),
    reversalId: z.number().int().nullable().meta({ description: '纠错业务编号（调用者可查看时）' }),
  })
  .meta({ id: 'ReversedChangeNote' });

export const StudentSummarySchema = z
  .object({
    studentNo: z.string().meta({
      description:
        '学籍号，已脱敏：学生在调用单位办理范围内时留前 6 位和后 4 位（G520302********0014），否则只留前 6 位（G520302************）',
    }),
    name: z.string(),
    gender: GenderSchema,
    birthDate: z.string().nullable().meta({ description: '出生日期；学生不在调用单位办理范围内时为 null' }),
    schoolCode: z.string(),
    schoolName: z.string(),
    grade: z.number().int(),
    status: StudentStatusSchema,
    idNumberMasked: z.string().nullable().meta({ description: '身份证号，脱敏方式同 studentNo' }),
    openCase: orNull(OpenCaseNoteSchema)
      .optional()
      .meta({ description: '查找结果中：该学生的在办业务（在办业务期间不能再申请）' }),
    reversedChange: orNull(ReversedChangeNoteSchema)
      .optional()
      .meta({ description: '查找结果中：该学生最近一次办结的异动已被纠错（撤销）时的说明' }),
    match: z
      .enum(['LOOK_ALIKE', 'SAME_TONE', 'SAME_SOUND'])
      .optional()
      .meta({ description: '建议中：形近字/繁简字、同音字（声调相同）、音近字（声调不同），依次排列' }),
  })
  .meta({ id: 'StudentSummary' });

/** The answer of a successful match: the pupil with the full 学籍号 the clerk typed, ready for filing. */
export const StudentMatchSchema = StudentSummarySchema.extend({
  studentNo: z.string().meta({ description: '完整学籍号（即核对时填写的号码）' }),
  birthDate: z.string(),
}).meta({ id: 'StudentMatch' });

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
    reverses: z
      .number()
      .int()
      .nullable()
      .meta({ description: '纠错记录：被纠错（撤销）的业务编号；原业务的记录仍保留' }),
  })
  .meta({ id: 'StudentHistoryLine' });

export const StudentDetailSchema = StudentSummarySchema.extend({
  ref: z.string().meta({ description: '学生页（学籍查询）的编号' }),
  className: z.string(),
  problemFlag: z.boolean(),
  history: z.array(StudentHistoryLineSchema),
}).meta({ id: 'StudentDetail' });

export const StudentLookupResultSchema = z
  .object({
    items: z.array(StudentSummarySchema),
    suggestions: z.array(StudentSummarySchema).optional().meta({
      description:
        '仅当没有同名学生时给出：本校姓名相近的学生，依次为形近字/繁简字、同音字（拼音和声调相同，姓按姓氏读音）、音近字（拼音相同声调不同），最多 10 名，学籍号和身份证号已脱敏',
    }),
    hint: z.string().optional().meta({ description: '仅当没有同名学生时给出：给学籍管理员的中文提示' }),
  })
  .meta({ id: 'StudentLookupResult' });

// ── Registration (新生建籍) ──────────────────────────────────────────────────────────────────────

const EARLIEST_BIRTH_DATE = '1990-01-01';
const ISO = /^\d{4}-\d{2}-\d{2}$/;

/** Dots that keyboards produce instead of the middle dot (U+00B7) of minority names (阿依古丽·买买提). */
const OTHER_DOTS = /[\u30FB\u2022\u2027\u2219\u22C5]/g;

/** Why a (trimmed, dot-normalised) name is refused, or null. One message, the most specific one. */
function nameProblem(name: string): string | null {
  if (!name) return '请填写学生姓名';
  if (/\s/u.test(name)) return '姓名中不能有空格';
  if (/\p{Nd}/u.test(name)) return '姓名不能包含数字';
  if (/\p{Script=Latin}/u.test(name)) return '姓名不能包含英文字母或拼音，请填写汉字';
  if (!/^[\p{Unified_Ideograph}·]+$/u.test(name)) {
    return '姓名只能由汉字组成（少数民族姓名可用间隔号“·”分隔），不能有标点或其他符号';
  }
  if (/^·|·$|··/.test(name)) return '间隔号“·”只能用在两段姓名之间';
  const length = Array.from(name).length;
  if (length < 2 || length > 20) return `姓名应为 2 至 20 个字（现为 ${length} 个）`;
  return null;
}

const NameSchema = freeText('学生姓名', { max: 50 })
  .overwrite((s) => s.replace(OTHER_DOTS, '·'))
  .superRefine((name, ctx) => {
    const problem = nameProblem(name);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .meta({ description: '2–20 个汉字；少数民族姓名可用间隔号“·”', example: '刘子淞' });

/** One message per problem (the shared isoDate reports a malformed date twice). */
/** The date if it is a real calendar date ('2019-02-30' and '2019-13-01' are not). */
const isCalendarDate = (d: string) => {
  const t = Date.parse(`${d}T00:00:00Z`);
  return !Number.isNaN(t) && new Date(t).toISOString().slice(0, 10) === d;
};

const BirthDateSchema = z
  .string({ error: '请填写出生日期' })
  .trim()
  .superRefine((d, ctx) => {
    const problem = !ISO.test(d)
      ? '出生日期格式应为 YYYY-MM-DD'
      : !isCalendarDate(d)
        ? '出生日期不是有效日期'
        : d < EARLIEST_BIRTH_DATE
          ? `出生日期不能早于 ${EARLIEST_BIRTH_DATE}`
          : d > todayIso()
            ? '出生日期不能晚于今天'
            : null;
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .meta({ description: 'YYYY-MM-DD，1990-01-01 至今天，须与身份证号中的出生日期一致', example: '2019-03-02' });

/**
 * An ID number field: checked with parseIdNumber (bad check character, impossible birth date …), the
 * message naming whose number it is. An empty string counts as absent.
 */
const idNumberField = (whose: string, description: string) =>
  z
    .string({ error: `${whose}身份证号应为文本` })
    .superRefine((v, ctx) => {
      const bad = textError(v);
      if (bad) ctx.addIssue({ code: 'custom', message: `${whose}身份证号${bad}`, abort: true });
      else if (v.length > 40) ctx.addIssue({ code: 'custom', message: `${whose}身份证号应为 18 位`, abort: true });
    })
    // Full-width digits and a lowercase x, as Chinese input methods type them, are the same number.
    .transform(normaliseIdInput)
    .superRefine((v, ctx) => {
      const parsed = v ? parseIdNumber(v) : null;
      if (parsed && !parsed.ok) ctx.addIssue({ code: 'custom', message: `${whose}${parsed.message}` });
    })
    .optional()
    .meta({ description });

/**
 * Which ID numbers must be present. Runs even when another field is wrong (`when`), so that a clerk
 * sees every problem of the form at once; the values may then be of any type.
 */
function checkIdNumbersPresent(v: Record<string, unknown>, ctx: z.RefinementCtx) {
  const given = (k: string) => typeof v[k] === 'string' && v[k] !== '';
  if (v.noHouseholdRegistration !== true) {
    if (!given('idNumber')) {
      ctx.addIssue({
        code: 'custom',
        path: ['idNumber'],
        message: '请填写学生身份证号；没有户籍的学生请选择“无户籍”（noHouseholdRegistration）',
      });
    }
    return;
  }
  if (given('idNumber')) {
    ctx.addIssue({
      code: 'custom',
      path: ['idNumber'],
      message: '无户籍学生没有身份证号：已有身份证号的学生不要选择“无户籍”，学籍号按身份证号生成',
    });
  }
  if (!given('guardianIdNumber') && !(given('fatherIdNumber') && given('motherIdNumber'))) {
    const message = '无户籍学生须登记父母双方的身份证号，或监护人的身份证号';
    for (const k of ['fatherIdNumber', 'motherIdNumber', 'guardianIdNumber']) {
      if (!given(k)) ctx.addIssue({ code: 'custom', path: [k], message });
    }
  }
  if (given('fatherIdNumber') && v.fatherIdNumber === v.motherIdNumber) {
    ctx.addIssue({ code: 'custom', path: ['motherIdNumber'], message: '父亲和母亲的身份证号不能相同' });
  }
}

export const RegisterStudentBodySchema = z
  .object({
    name: NameSchema,
    gender: z.enum(GENDERS, { error: '性别应为 MALE（男）或 FEMALE（女）' }),
    birthDate: BirthDateSchema,
    idNumber: idNumberField('', '学生身份证号；有户籍的学生必填，学籍号为 G 加身份证号'),
    grade: z
      .number({ error: '请填写年级（1–12 的整数）' })
      .int('年级应为整数')
      .min(1, '年级应在 1 至 12 之间')
      .max(12, '年级应在 1 至 12 之间'),
    className: freeText('班级', { min: 1, max: 20 }),
    noHouseholdRegistration: z
      .boolean({ error: '“无户籍”应为 true 或 false' })
      .optional()
      .meta({ description: '无户籍：不填身份证号，系统生成临时学籍号（L 开头），须登记父母双方或监护人的身份证号' }),
    fatherIdNumber: idNumberField('父亲', '父亲身份证号（无户籍学生：父母双方或监护人必填）'),
    motherIdNumber: idNumberField('母亲', '母亲身份证号'),
    guardianIdNumber: idNumberField('监护人', '监护人身份证号'),
    schoolCode: orgCode('学校代码').optional().meta({ description: '可省略；只能是您所在的学校' }),
  })
  .superRefine((v, ctx) => checkIdNumbersPresent(v, ctx), {
    when: (p) => typeof p.value === 'object' && p.value !== null && !Array.isArray(p.value),
  })
  .meta({ id: 'RegisterStudentBody' });

export type RegisterStudentBody = z.infer<typeof RegisterStudentBodySchema>;

export const StudentWarningSchema = z
  .object({
    code: z.literal('POSSIBLE_DUPLICATE'),
    message: z.string(),
    studentNo: z.string().meta({ description: '疑似重复的学生的学籍号（已脱敏）' }),
    name: z.string(),
  })
  .meta({ id: 'StudentWarning' });

export const RegisteredStudentSchema = StudentDetailSchema.extend({
  studentNo: z.string().meta({ description: '学籍号（完整）：G 加身份证号，或无户籍学生的临时学籍号 L 加 18 位' }),
  warnings: z.array(StudentWarningSchema).meta({ description: '已登记，但请核对：可能与已有学生重复' }),
}).meta({ id: 'RegisteredStudent' });
