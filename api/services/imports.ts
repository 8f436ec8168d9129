import { maskStudentNo, parseIdNumber, studentNoFromIdNumber } from '../../domain/id-number';
import { normaliseIdInput, textError } from '../../domain/text';
import type { Gender } from '../../domain/types';
import type { Prisma } from '../../generated/prisma/client';
import { appendAudit, type AuditActor } from '../../infra/audit';
import { prismaErrorCode, type PrismaClient } from '../../infra/db';
import type { z } from '../schemas/common';
import { RegisterStudentBodySchema } from '../schemas/students';
import { conflict } from '../errors';
import { locateColumns, type Cell, type ColumnSpec, type Sheet, type SheetRow } from '../spreadsheet';

// Validation of imported organisations and pupils, row by row, with the project's own rules (the
// registration schema's name, date, grade and class rules; parseIdNumber), and the writes once every row passed:
// all rows or none, in one transaction with the audit event.

/** One refused cell: the spreadsheet row, the field (column) and why, in Chinese. */
export interface Refusal {
  row: number;
  field: string;
  message: string;
}

const LOOKUP_CHUNK = 1000;
const chunks = <T>(xs: T[], n = LOOKUP_CHUNK) =>
  Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, i * n + n));
const text = (c: Cell | undefined) => (c === undefined ? '' : String(c).trim());
function cellReader<F extends string>(columns: Partial<Record<F, number>>) {
  return (r: SheetRow, f: F): Cell | undefined => {
    const i = columns[f];
    return i === undefined ? undefined : r.cells[i];
  };
}

/**
 * The free-text rule (domain/text.ts) and the column's length limit over every known cell of a row: each cell that
 * breaks them is one entry of the report, and the row's other checks are skipped (they would only repeat it). A cell
 * with NUL or a stray control character — an .xlsx can carry them as _x0000_ escapes — never reaches the database.
 */
function textRefusals<F extends string>(
  r: SheetRow,
  columns: Partial<Record<F, number>>,
  spec: Record<F, ColumnSpec>,
  refuse: (row: number, field: F, message: string) => void,
): boolean {
  let refused = false;
  for (const f of Object.keys(spec) as F[]) {
    const i = columns[f];
    const v = i === undefined ? undefined : r.cells[i];
    if (typeof v !== 'string') continue;
    const problem = textError(v);
    if (problem) refuse(r.row, f, `${spec[f].label}${problem}`);
    else if (Array.from(v.trim()).length > spec[f].max) refuse(r.row, f, `${spec[f].label}最多 ${spec[f].max} 个字`);
    else continue;
    refused = true;
  }
  return refused;
}

// ── Pupils ──────────────────────────────────────────────────────────────────────────────────────

type StudentField = 'name' | 'idNumber' | 'gender' | 'birthDate' | 'schoolCode' | 'grade' | 'className';

export const STUDENT_COLUMNS: Record<StudentField, ColumnSpec> = {
  name: { label: '姓名', headers: ['姓名', '学生姓名'], required: true, max: 50 },
  idNumber: {
    label: '身份证号',
    headers: ['身份证号', '身份证号码', '身份证件号', '公民身份号码', '证件号码'],
    required: true,
    max: 40,
  },
  gender: { label: '性别', headers: ['性别', 'sex'], required: false, max: 10 },
  birthDate: { label: '出生日期', headers: ['出生日期', '出生年月日', 'dateofbirth'], required: false, max: 30 },
  schoolCode: { label: '学校代码', headers: ['学校代码', '学校标识码'], required: true, max: 20 },
  grade: { label: '年级', headers: ['年级'], required: true, max: 10 },
  className: { label: '班级', headers: ['班级', '班级名称', 'class'], required: true, max: 20 },
};

export interface StudentRecord {
  studentNo: string;
  idNumber: string;
  name: string;
  gender: Gender;
  birthDate: Date;
  schoolCode: string;
  grade: number;
  className: string;
}

const GENDER_WORDS: Record<string, Gender> = {
  男: 'MALE',
  男性: 'MALE',
  m: 'MALE',
  male: 'MALE',
  女: 'FEMALE',
  女性: 'FEMALE',
  f: 'FEMALE',
  female: 'FEMALE',
};

/** 2015-05-05, 2015/5/5, 2015.5.5, 20150505, 2015年5月5日 → 2015-05-05; anything else null. */
export function normaliseDate(s: string): string | null {
  const m =
    /^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$/.exec(s) ?? /^(\d{4})(\d{2})(\d{2})$/.exec(s.replace(/\s/g, ''));
  return m ? `${m[1]}-${m[2].padStart(2, '0')}-${m[3].padStart(2, '0')}` : null;
}

const CN_DIGITS: Record<string, number> = {
  一: 1,
  二: 2,
  三: 3,
  四: 4,
  五: 5,
  六: 6,
  七: 7,
  八: 8,
  九: 9,
  十: 10,
  十一: 11,
  十二: 12,
};
const STAGE_OFFSET: Record<string, number> = { 初: 6, 高: 9 };

/** 3, "3", "3年级", "三年级", "初一" (7), "高三" (12) → the grade number; anything else NaN. */
export function parseGrade(c: Cell | undefined): number {
  if (typeof c === 'number') return c;
  const s = text(c).replace(/年级$/, '');
  if (/^\d{1,2}$/.test(s)) return Number(s);
  const stage = /^([初高])([一二三])$/.exec(s);
  if (stage) return STAGE_OFFSET[stage[1]] + CN_DIGITS[stage[2]];
  return CN_DIGITS[s] ?? NaN;
}

/** The first message of a zod field schema's verdict, or null. */
function fieldProblem(schema: z.ZodType, v: unknown): string | null {
  const r = schema.safeParse(v);
  return r.success ? null : (r.error.issues[0]?.message ?? '格式不正确');
}

/**
 * Checks every pupil row: name, class and grade by the registration rules; the ID number (format,
 * region, birth date, check character); gender and birth date, when given, against the ID number
 * (derived from it when blank); the school, which must exist; the ID number neither twice in the file
 * nor already registered. Returns every problem found, and the records when there are none.
 */
export async function checkStudents(
  prisma: PrismaClient,
  rows: SheetRow[],
): Promise<{ refused: Refusal[]; records: StudentRecord[]; total: number }> {
  const { columns, data } = locateColumns(rows, STUDENT_COLUMNS);
  const cell = cellReader(columns);
  const shape = RegisterStudentBodySchema.shape;
  const refused: Refusal[] = [];
  const refuse = (row: number, field: StudentField, message: string) => refused.push({ row, field, message });
  const candidates: (StudentRecord & { row: number })[] = [];
  const firstRowOf = new Map<string, number>();

  for (const r of data) {
    const before = refused.length;
    if (textRefusals(r, columns, STUDENT_COLUMNS, refuse)) continue;
    const idCell = cell(r, 'idNumber');
    let id: ReturnType<typeof parseIdNumber> | null = null;
    if (typeof idCell === 'number') {
      refuse(r.row, 'idNumber', '身份证号被 Excel 存成了数字，后几位已丢失：请把该列设为“文本”格式，重新填写后再导入');
    } else if (!text(idCell)) {
      refuse(r.row, 'idNumber', '请填写身份证号');
    } else {
      // Full-width digits and a lowercase x, as typed with a Chinese input method, are the same number.
      id = parseIdNumber(normaliseIdInput(text(idCell)));
      if (!id.ok) refuse(r.row, 'idNumber', id.message);
    }
    const parsedId = id?.ok ? id : null;

    const nameResult = shape.name.safeParse(text(cell(r, 'name')));
    if (!nameResult.success) refuse(r.row, 'name', nameResult.error.issues[0]?.message ?? '姓名不正确');
    const name = nameResult.data ?? '';

    const genderText = text(cell(r, 'gender'));
    const gender = genderText ? GENDER_WORDS[genderText.toLowerCase()] : parsedId?.gender;
    if (genderText && !gender) refuse(r.row, 'gender', '性别应为“男”或“女”');
    else if (genderText && parsedId && gender !== parsedId.gender) {
      refuse(
        r.row,
        'gender',
        `性别与身份证号不一致：按身份证号第 17 位应为${parsedId.gender === 'MALE' ? '男' : '女'}`,
      );
    }

    const birthText = text(cell(r, 'birthDate'));
    const birthDate = birthText ? normaliseDate(birthText) : parsedId?.birthDate;
    if (birthText) {
      const problem = birthDate ? fieldProblem(shape.birthDate, birthDate) : '出生日期格式应为 YYYY-MM-DD';
      if (problem) refuse(r.row, 'birthDate', problem);
      else if (parsedId && birthDate !== parsedId.birthDate) {
        refuse(
          r.row,
          'birthDate',
          `出生日期与身份证号不一致：身份证号中的出生日期为 ${parsedId.birthDate}，填写的是 ${birthDate}`,
        );
      }
    } else if (parsedId) {
      const problem = fieldProblem(shape.birthDate, parsedId.birthDate);
      if (problem) refuse(r.row, 'idNumber', `按身份证号，${problem}`);
    }

    const schoolCode = text(cell(r, 'schoolCode'));
    if (!/^\d{10}$/.test(schoolCode)) {
      refuse(r.row, 'schoolCode', schoolCode ? '学校代码应为 10 位数字（学校标识码）' : '请填写学校代码');
    }

    const grade = parseGrade(cell(r, 'grade'));
    const gradeProblem = Number.isNaN(grade)
      ? '年级应为 1 至 12 的整数（如 3、三年级、初一）'
      : fieldProblem(shape.grade, grade);
    if (gradeProblem) refuse(r.row, 'grade', gradeProblem);

    const className = text(cell(r, 'className'));
    const classProblem = fieldProblem(shape.className, className);
    if (classProblem) refuse(r.row, 'className', classProblem);

    if (parsedId) {
      const first = firstRowOf.get(parsedId.idNumber);
      if (first !== undefined) refuse(r.row, 'idNumber', `与第 ${first} 行的身份证号重复`);
      else firstRowOf.set(parsedId.idNumber, r.row);
    }
    if (refused.length === before && parsedId && gender && birthDate) {
      candidates.push({
        row: r.row,
        studentNo: studentNoFromIdNumber(parsedId.idNumber),
        idNumber: parsedId.idNumber,
        name,
        gender,
        birthDate: new Date(`${birthDate}T00:00:00Z`),
        schoolCode,
        grade,
        className,
      });
    }
  }

  // Against the database: the school exists and is a school; the pupil is not registered yet.
  const codes = [...new Set(candidates.map((c) => c.schoolCode))];
  const orgs = new Map<string, { kind: string; name: string }>();
  for (const part of chunks(codes)) {
    for (const o of await prisma.organisation.findMany({ where: { code: { in: part } } })) orgs.set(o.code, o);
  }
  const existing = new Map<string, { studentNo: string; school: string }>();
  for (const part of chunks(candidates)) {
    const found = await prisma.student.findMany({
      where: {
        OR: [{ idNumber: { in: part.map((c) => c.idNumber) } }, { studentNo: { in: part.map((c) => c.studentNo) } }],
      },
      include: { school: true },
    });
    for (const s of found) {
      const entry = { studentNo: s.studentNo, school: s.school.name };
      if (s.idNumber) existing.set(s.idNumber, entry);
      existing.set(s.studentNo, entry);
    }
  }
  const records: StudentRecord[] = [];
  for (const { row, ...c } of candidates) {
    const org = orgs.get(c.schoolCode);
    if (!org) refuse(row, 'schoolCode', `没有代码为 ${c.schoolCode} 的学校，请先导入或新建该学校`);
    else if (org.kind !== 'SCHOOL') refuse(row, 'schoolCode', `${c.schoolCode} 是${org.name}的代码，不是学校`);
    const dup = existing.get(c.idNumber) ?? existing.get(c.studentNo);
    if (dup)
      refuse(row, 'idNumber', `该学生已有学籍（${dup.school}，学籍号 ${maskStudentNo(dup.studentNo)}），不能重复导入`);
    if (org?.kind === 'SCHOOL' && !dup) records.push(c);
  }
  return { refused: sortRefusals(refused, Object.keys(STUDENT_COLUMNS)), records, total: data.length };
}

// ── Organisations ───────────────────────────────────────────────────────────────────────────────

type OrgField = 'code' | 'name' | 'kind' | 'parentCode' | 'email';

export const ORGANISATION_COLUMNS: Record<OrgField, ColumnSpec> = {
  code: { label: '代码', headers: ['代码', '单位代码', '机构代码', '学校标识码'], required: true, max: 20 },
  name: { label: '名称', headers: ['名称', '单位名称', '机构名称'], required: true, max: 100 },
  kind: { label: '类型', headers: ['类型', '单位类型', 'type'], required: true, max: 20 },
  parentCode: { label: '上级代码', headers: ['上级代码', '上级单位代码', '主管单位代码'], required: false, max: 20 },
  email: { label: '邮箱', headers: ['邮箱', '电子邮箱', 'e-mail'], required: false, max: 200 },
};

type OrgKind = 'SCHOOL' | 'COUNTY' | 'CITY' | 'PROVINCE';

const KIND_WORDS: Record<string, OrgKind> = {
  学校: 'SCHOOL',
  school: 'SCHOOL',
  教育局: 'COUNTY',
  区县教育局: 'COUNTY',
  县教育局: 'COUNTY',
  区教育局: 'COUNTY',
  county: 'COUNTY',
  地市教育局: 'CITY',
  市教育局: 'CITY',
  州教育局: 'CITY',
  '市（州）教育局': 'CITY',
  地市: 'CITY',
  city: 'CITY',
  省教育厅: 'PROVINCE',
  教育厅: 'PROVINCE',
  省: 'PROVINCE',
  province: 'PROVINCE',
};

/**
 * Per kind: the code (GB/T 2260 prefixes for the bureaus: 52 贵州, 5203 遵义, 520302 红花岗区; a school's 10-digit
 * 学校标识码), what it is called in a message, and the kind of its parent — a school's county bureau; a county's
 * 地市 bureau and a 地市's 省 one, whose codes are the first digits of its own.
 */
const KINDS: Record<OrgKind, { code: RegExp; codeMessage: string; name: string; parent: OrgKind | null }> = {
  SCHOOL: { code: /^\d{10}$/, codeMessage: '学校代码应为 10 位数字（学校标识码）', name: '学校', parent: 'COUNTY' },
  COUNTY: {
    code: /^[1-9]\d{5}$/,
    codeMessage: '区县教育局代码应为 6 位行政区划代码（如 520302）',
    name: '区县教育局',
    parent: 'CITY',
  },
  CITY: {
    code: /^[1-9]\d{3}$/,
    codeMessage: '地市教育局代码应为行政区划代码的前 4 位（如 5203 遵义市）',
    name: '地市教育局',
    parent: 'PROVINCE',
  },
  PROVINCE: {
    code: /^[1-9]\d$/,
    codeMessage: '省教育厅代码应为行政区划代码的前 2 位（如 52 贵州省）',
    name: '省教育厅',
    parent: null,
  },
};
/** The first digits of a bureau's code name the bureau above it (GB/T 2260). */
const PREFIX: Partial<Record<OrgKind, number>> = { COUNTY: 4, CITY: 2 };

export interface OrganisationRecord {
  code: string;
  name: string;
  kind: OrgKind;
  parentCode: string | null;
  email: string | null;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/**
 * Checks every organisation row: code, name, type (学校, 区县教育局, 地市教育局, 省教育厅); the parent — a school's
 * county bureau (required), a county's 地市 bureau and a 地市's 省 bureau (the one its code's first 4 or 2 digits
 * name; when left blank, that bureau if it exists), each in the database or a row of the same file; a province has
 * none; no code twice in the file or already present.
 */
export async function checkOrganisations(
  prisma: PrismaClient,
  rows: SheetRow[],
): Promise<{ refused: Refusal[]; records: OrganisationRecord[]; total: number }> {
  const { columns, data } = locateColumns(rows, ORGANISATION_COLUMNS);
  const cell = cellReader(columns);
  const refused: Refusal[] = [];
  const refuse = (row: number, field: OrgField, message: string) => refused.push({ row, field, message });
  const candidates: (OrganisationRecord & { row: number; parentGiven: boolean })[] = [];
  const firstRowOf = new Map<string, number>();
  /** Every organisation the file names, valid or not, so a parent is found in the file. */
  const declared = new Map<string, { kind: string; name: string }>();

  for (const r of data) {
    const before = refused.length;
    if (textRefusals(r, columns, ORGANISATION_COLUMNS, refuse)) continue;
    const kindText = text(cell(r, 'kind'));
    const kind = KIND_WORDS[kindText.toLowerCase()];
    if (!kind) {
      refuse(
        r.row,
        'kind',
        kindText
          ? '类型应为“学校”“区县教育局”“地市教育局”或“省教育厅”'
          : '请填写类型（学校、区县教育局、地市教育局 或 省教育厅）',
      );
    }

    const code = text(cell(r, 'code'));
    if (!code) refuse(r.row, 'code', '请填写代码');
    else if (kind && !KINDS[kind].code.test(code)) refuse(r.row, 'code', KINDS[kind].codeMessage);
    else if (!kind && !/^(\d{2}|\d{4}|\d{6}|\d{10})$/.test(code))
      refuse(r.row, 'code', '代码应为 2 位（省）、4 位（地市）、6 位（区县）或 10 位（学校）数字');
    if (code) {
      const first = firstRowOf.get(code);
      if (first !== undefined) refuse(r.row, 'code', `与第 ${first} 行的代码重复`);
      else firstRowOf.set(code, r.row);
    }

    const name = text(cell(r, 'name'));
    if (!name) refuse(r.row, 'name', '请填写名称');

    const parentCode = text(cell(r, 'parentCode'));
    if (kind === 'SCHOOL' && !parentCode) refuse(r.row, 'parentCode', '请填写学校所属区县教育局的代码');
    if (kind === 'PROVINCE' && parentCode) refuse(r.row, 'parentCode', '省教育厅没有上级单位，请留空');
    const prefix = kind ? PREFIX[kind] : undefined;
    if (prefix && code && parentCode && parentCode !== code.slice(0, prefix)) {
      const above = KINDS[KINDS[kind!].parent!].name;
      refuse(
        r.row,
        'parentCode',
        `${KINDS[kind!].name}的上级应为${above}（代码 ${code.slice(0, prefix)}，即本单位代码的前 ${prefix} 位），或留空`,
      );
    }

    const email = text(cell(r, 'email'));
    if (email && (!EMAIL.test(email) || email.length > 200)) refuse(r.row, 'email', '邮箱格式不正确');

    if (code && kind && !declared.has(code)) declared.set(code, { kind, name });
    if (refused.length === before && kind) {
      // A bureau's parent left blank: the one its code's prefix names, if it exists (looked up below).
      const parent = parentCode || (prefix ? code.slice(0, prefix) : '');
      candidates.push({
        row: r.row,
        code,
        name,
        kind,
        parentCode: parent || null,
        parentGiven: !!parentCode,
        email: email || null,
      });
    }
  }

  const wanted = [...new Set(candidates.flatMap((c) => [c.code, ...(c.parentCode ? [c.parentCode] : [])]))];
  const inDb = new Map<string, { kind: string; name: string }>();
  for (const part of chunks(wanted)) {
    for (const o of await prisma.organisation.findMany({ where: { code: { in: part } } })) inDb.set(o.code, o);
  }
  const records: OrganisationRecord[] = [];
  for (const { row, parentGiven, ...c } of candidates) {
    const before = refused.length;
    const present = inDb.get(c.code);
    if (present) refuse(row, 'code', `代码 ${c.code} 已存在（${present.name}）`);
    const want = KINDS[c.kind].parent;
    if (c.parentCode && want) {
      const parent = inDb.get(c.parentCode) ?? declared.get(c.parentCode);
      const above = KINDS[want].name;
      if (!parent) {
        if (parentGiven) refuse(row, 'parentCode', `没有代码为 ${c.parentCode} 的${above}（数据库和本文件中都没有）`);
        else c.parentCode = null; // no bureau above it yet: one imported later adopts it
      } else if (parent.kind !== want) {
        if (parentGiven) refuse(row, 'parentCode', `${c.parentCode}（${parent.name}）不是${above}`);
        else c.parentCode = null;
      }
    }
    if (refused.length === before) records.push(c);
  }
  return { refused: sortRefusals(refused, Object.keys(ORGANISATION_COLUMNS)), records, total: data.length };
}

/** By row, then in column order. */
function sortRefusals(refused: Refusal[], order: string[]): Refusal[] {
  return [...refused].sort((a, b) => a.row - b.row || order.indexOf(a.field) - order.indexOf(b.field));
}

// ── Writes ───────────────────────────────────────────────────────────────────────────────────────────────

const INSERT_CHUNK = 1000;

const isConstraintViolation = (e: unknown) => ['P2002', 'P2003'].includes(prismaErrorCode(e) ?? '');

/** One checked upload about to be written: who, what file, how many rows it had. */
export interface ImportRun {
  actor: AuditActor;
  total: number;
  sheet: Pick<Sheet, 'format' | 'encoding'>;
  sha256: string;
}

/** The rows and the audit event in one transaction; 409 when the data changed between the checks and the writes. */
async function writeImport<T>(
  prisma: PrismaClient,
  kind: 'organisations' | 'students',
  run: ImportRun,
  records: T[],
  write: (tx: Prisma.TransactionClient, records: T[]) => Promise<Record<string, unknown>>,
): Promise<void> {
  try {
    await prisma.$transaction(
      async (tx) => {
        const counts = await write(tx, records);
        await appendAudit(tx, {
          actor: run.actor,
          action: `import.${kind}`,
          entityType: 'Import',
          entityId: run.sha256.slice(0, 16),
          details: {
            rows: run.total,
            imported: records.length,
            format: run.sheet.format,
            encoding: run.sheet.encoding,
            sha256: run.sha256,
            ...counts,
          },
        });
      },
      { timeout: 120_000, maxWait: 10_000 },
    );
  } catch (e) {
    // Someone registered the same pupil, or removed a school, between the checks and the writes.
    if (isConstraintViolation(e))
      throw conflict('导入期间数据已被他人修改（如同时登记了同一学生），未导入任何数据，请重新上传');
    throw e;
  }
}

/**
 * Writes checked organisations (checkOrganisations) with the audit event, all or none: bureaus from the top down (a
 * row names its parent, which may be a row of the same file); a 地市 or 省 bureau adopts the bureaus already present
 * under its code that had none above them (a county imported before its 地市).
 */
export function importOrganisations(prisma: PrismaClient, run: ImportRun, records: OrganisationRecord[]) {
  return writeImport(prisma, 'organisations', run, records, async (tx, records) => {
    const counts = { provinces: 0, cities: 0, counties: 0, schools: 0, adopted: 0 };
    const plural = { PROVINCE: 'provinces', CITY: 'cities', COUNTY: 'counties', SCHOOL: 'schools' } as const;
    for (const kind of ['PROVINCE', 'CITY', 'COUNTY', 'SCHOOL'] as const) {
      const of = records.filter((o) => o.kind === kind);
      for (let i = 0; i < of.length; i += INSERT_CHUNK) {
        await tx.organisation.createMany({ data: of.slice(i, i + INSERT_CHUNK) });
      }
      counts[plural[kind]] = of.length;
    }
    for (const above of records.filter((o) => o.kind === 'CITY' || o.kind === 'PROVINCE')) {
      const below = above.kind === 'CITY' ? 'COUNTY' : 'CITY';
      const { count } = await tx.organisation.updateMany({
        where: { kind: below, parentCode: null, code: { startsWith: above.code } },
        data: { parentCode: above.code },
      });
      counts.adopted += count;
    }
    return counts;
  });
}

/** Writes checked pupils (checkStudents) with the audit event, all or none. */
export function importStudents(prisma: PrismaClient, run: ImportRun, records: StudentRecord[]) {
  return writeImport(prisma, 'students', run, records, async (tx, records) => {
    for (let i = 0; i < records.length; i += INSERT_CHUNK) {
      await tx.student.createMany({ data: records.slice(i, i + INSERT_CHUNK) });
    }
    const bySchool: Record<string, number> = {};
    for (const s of records) bySchool[s.schoolCode] = (bySchool[s.schoolCode] ?? 0) + 1;
    return { bySchool };
  });
}
