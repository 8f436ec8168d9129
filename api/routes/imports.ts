import { createHash } from 'node:crypto';
import { Router, type RequestHandler } from 'express';
import multer, { MulterError } from 'multer';
import type { AppDeps } from '../app';
import { auditActorOf, currentUser, requireRole, type AuthUser } from '../auth';
import { badRequest, conflict, HttpError, payloadTooLarge, ruleViolation } from '../errors';
import { json, problem, secured, type OpenAPIRegistry } from '../openapi-helpers';
import { parse } from '../schemas/common';
import { ImportQuerySchema, ImportRefusedSchema, ImportResultSchema, ImportUploadBodySchema } from '../schemas/imports';
import { checkOrganisations, checkStudents, type Refusal } from '../services/imports';
import { readSheet, type Sheet } from '../spreadsheet';
import { appendAudit } from '../../infra/audit';
import { prismaErrorCode } from '../../infra/db';
import type { Prisma } from '../../generated/prisma/client';

const FIELD = 'file';
const INSERT_CHUNK = 1000;

const isConstraintViolation = (e: unknown) => ['P2002', 'P2003'].includes(prismaErrorCode(e) ?? '');

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

  /** Reads the upload (400 without one), its checks and its writer, with the shared all-or-nothing flow. */
  const importer =
    <T>(
      kind: 'organisations' | 'students',
      check: (sheet: Sheet) => Promise<{ refused: Refusal[]; records: T[]; total: number }>,
      write: (tx: Prisma.TransactionClient, records: T[]) => Promise<Record<string, unknown>>,
    ): RequestHandler =>
    async (req, res) => {
      const admin: AuthUser = currentUser(req);
      const { dryRun } = parse(ImportQuerySchema, req.query);
      if (!req.file) throw badRequest('请上传文件（表单字段名 file）', [{ path: FIELD, message: '缺少文件' }]);
      const sheet = await readSheet(req.file.buffer, security.importMaxRows, req.file.originalname || '上传的文件');
      const { refused, records, total } = await check(sheet);
      if (refused.length > 0) throw refusedReport(refused, total, dryRun);
      if (total === 0) throw badRequest('文件中只有表头，没有数据行');
      if (dryRun) {
        res.json({ imported: 0, valid: total, refused: [], dryRun: true });
        return;
      }
      const sha256 = createHash('sha256').update(req.file.buffer).digest('hex');
      try {
        await prisma.$transaction(
          async (tx) => {
            const counts = await write(tx, records);
            await appendAudit(tx, {
              actor: auditActorOf(admin),
              action: `import.${kind}`,
              entityType: 'Import',
              entityId: sha256.slice(0, 16),
              details: {
                rows: total,
                imported: records.length,
                format: sheet.format,
                encoding: sheet.encoding,
                sha256,
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
      res.status(201).json({ imported: records.length, valid: total, refused: [], dryRun: false });
    };

  r.post(
    '/organisations',
    receive,
    importer(
      'organisations',
      (sheet) => checkOrganisations(prisma, sheet.rows),
      async (tx, records) => {
        // Bureaus first: schools in the same file name them as parents.
        const counties = records.filter((o) => o.kind === 'COUNTY');
        const schools = records.filter((o) => o.kind === 'SCHOOL');
        for (let i = 0; i < counties.length; i += INSERT_CHUNK) {
          await tx.organisation.createMany({ data: counties.slice(i, i + INSERT_CHUNK) });
        }
        for (let i = 0; i < schools.length; i += INSERT_CHUNK) {
          await tx.organisation.createMany({ data: schools.slice(i, i + INSERT_CHUNK) });
        }
        return { counties: counties.length, schools: schools.length };
      },
    ),
  );

  r.post(
    '/students',
    receive,
    importer(
      'students',
      (sheet) => checkStudents(prisma, sheet.rows),
      async (tx, records) => {
        for (let i = 0; i < records.length; i += INSERT_CHUNK) {
          await tx.student.createMany({ data: records.slice(i, i + INSERT_CHUNK) });
        }
        const bySchool: Record<string, number> = {};
        for (const s of records) bySchool[s.schoolCode] = (bySchool[s.schoolCode] ?? 0) + 1;
        return { bySchool };
      },
    ),
  );
  return r;
}

export function registerImportPaths(reg: OpenAPIRegistry) {
  for (const [what, summary, columns] of [
    [
      'organisations',
      '导入单位（教育局、学校）',
      '列：代码/code、名称/name、类型/kind（学校、教育局）、上级代码/parentCode（学校必填）、邮箱/email',
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
