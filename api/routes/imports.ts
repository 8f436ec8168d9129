import { createHash } from 'node:crypto';
import { Router, type RequestHandler } from 'express';
import multer, { MulterError } from 'multer';
import type { AppDeps } from '../app';
import { auditActorOf, currentUser, requireRole, type AuthUser } from '../auth';
import { badRequest, HttpError, payloadTooLarge, ruleViolation } from '../errors';
import { json, problem, secured, type OpenAPIRegistry } from '../openapi-helpers';
import { parse } from '../schemas/common';
import { ImportQuerySchema, ImportRefusedSchema, ImportResultSchema, ImportUploadBodySchema } from '../schemas/imports';
import {
  checkOrganisations,
  checkStudents,
  importOrganisations,
  importStudents,
  type ImportRun,
  type Refusal,
} from '../services/imports';
import { readSheet, type Sheet } from '../spreadsheet';

const FIELD = 'file';

/** 422 problem+json carrying the whole per-row report: nothing was imported. */
function refusedReport(refused: Refusal[], total: number, dryRun: boolean): HttpError {
  const rows = new Set(refused.map((r) => r.row)).size;
  const e = ruleViolation(
    `共 ${total} 行，其中 ${rows} 行有误：整个文件未导入，请按 refused 中列出的行和列改正后重新上传`,
  );
  e.extensions = { imported: 0, valid: total - rows, refused, dryRun };
  return e;
}

/**
 * Imports organisations and pupils from .xlsx or CSV, for administrators. Every row is checked first;
 * if any is refused nothing is written (422 with each refused row, field and reason); otherwise all rows
 * go in one transaction with their audit event (201). `?dryRun=true` checks only (200).
 */
export function importRoutes({ prisma, security }: AppDeps): Router {
  const r = Router();
  r.use(requireRole('ADMIN'));

  const max = security.importMaxBytes;
  const maxText = max >= 1024 * 1024 ? `${Math.floor(max / 1024 / 1024)} MB` : `${Math.ceil(max / 1024)} KB`;
  const tooLarge = () => payloadTooLarge(`文件不能超过 ${maxText}，请分批导入`, [{ path: FIELD, message: '文件过大' }]);
  const single = multer({
    storage: multer.memoryStorage(),
    limits: { fileSize: security.importMaxBytes, files: 1, fields: 5, parts: 6, fieldSize: 1024 },
    defParamCharset: 'utf8',
  }).single(FIELD);
  const receive: RequestHandler = (req, res, next) => {
    single(req, res, (err?: unknown) => {
      if (!err) return next();
      if (err instanceof MulterError && err.code === 'LIMIT_FILE_SIZE') return next(tooLarge());
      if (err instanceof MulterError) {
        return next(badRequest('只能上传一个文件，字段名为 file', [{ path: FIELD, message: err.message }]));
      }
      next(badRequest('请求不是合法的 multipart/form-data', [{ path: 'body', message: String(err) }]));
    });
  };

  /**
   * One import at a time in this process, the others waiting their turn: a sheet of IMPORT_MAX_ROWS (20,000) rows
   * takes ≈ 100 MB of heap at its peak, and `npm start` caps the heap at 256 MB (scripts/start.sh).
   */
  let turn: Promise<unknown> = Promise.resolve();
  const inTurn = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = turn.then(fn, fn);
    turn = run.catch(() => undefined);
    return run;
  };

  /** Reads the upload (400 without one), its checks and its writer, with the shared all-or-nothing flow. */
  const importer =
    <T>(
      check: (sheet: Sheet) => Promise<{ refused: Refusal[]; records: T[]; total: number }>,
      write: (run: ImportRun, records: T[]) => Promise<void>,
    ): RequestHandler =>
    async (req, res) => {
      const admin: AuthUser = currentUser(req);
      const { dryRun } = parse(ImportQuerySchema, req.query);
      if (!req.file) throw badRequest('请上传文件（表单字段名 file）', [{ path: FIELD, message: '缺少文件' }]);
      const file = req.file;
      await inTurn(async () => {
        const sheet = await readSheet(file.buffer, security.importMaxRows, file.originalname || '上传的文件');
        const { refused, records, total } = await check(sheet);
        if (refused.length > 0) throw refusedReport(refused, total, dryRun);
        if (total === 0) throw badRequest('文件中只有表头，没有数据行');
        if (dryRun) {
          res.json({ imported: 0, valid: total, refused: [], dryRun: true });
          return;
        }
        const sha256 = createHash('sha256').update(file.buffer).digest('hex');
        await write({ actor: auditActorOf(admin), total, sheet, sha256 }, records);
        res.status(201).json({ imported: records.length, valid: total, refused: [], dryRun: false });
      });
    };

  r.post(
    '/organisations',
    receive,
    importer(
      (sheet) => checkOrganisations(prisma, sheet.rows),
      (run, records) => importOrganisations(prisma, run, records),
    ),
  );

  r.post(
    '/students',
    receive,
    importer(
      (sheet) => checkStudents(prisma, sheet.rows),
      (run, records) => importStudents(prisma, run, records),
    ),
  );
  return r;
}

export function registerImportPaths(reg: OpenAPIRegistry) {
  for (const [what, summary, columns] of [
    [
      'organisations',
      '导入单位（省教育厅、地市和区县教育局、学校）',
      '列：代码/code（省 2 位、地市 4 位、区县 6 位行政区划代码，学校 10 位学校标识码）、名称/name、' +
        '类型/kind（学校、区县教育局、地市教育局、省教育厅）、上级代码/parentCode（学校必填；区县、地市可留空，' +
        '自动取代码前 4 位、前 2 位的上级教育局）、邮箱/email',
    ],
    [
      'students',
      '导入学生',
      '列：姓名/name、身份证号/idNumber、性别/gender、出生日期/birthDate、学校代码/schoolCode、年级/grade、班级/className',
    ],
  ] as const) {
    reg.registerPath({
      method: 'post',
      path: `/api/admin/imports/${what}`,
      summary: `${summary}（管理员）`,
      description: `${columns}。任何一行有误则整个文件不导入，返回每个有误的行、列和原因。`,
      security: secured,
      request: {
        query: ImportQuerySchema,
        body: { content: { 'multipart/form-data': { schema: ImportUploadBodySchema } } },
      },
      responses: {
        200: json(ImportResultSchema, '检查通过（dryRun，未写入）'),
        201: json(ImportResultSchema, '已全部导入'),
        400: problem('没有文件、无法读取或缺少必需的列'),
        403: problem('非管理员'),
        409: problem('导入期间数据被他人修改，未导入'),
        413: problem('文件或行数超过上限'),
        415: problem('不是 .xlsx 或 CSV'),
        422: {
          description: '有行被拒绝，未导入任何数据',
          content: { 'application/problem+json': { schema: ImportRefusedSchema } },
        },
      },
    });
  }
}
