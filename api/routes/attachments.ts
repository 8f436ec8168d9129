import { createHash, randomUUID } from 'node:crypto';
import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Router, type RequestHandler } from 'express';
import multer, { MulterError, type StorageEngine } from 'multer';
import type { AppDeps } from '../app';
import { currentUser } from '../auth';
import { badRequest, conflict, HttpError, notFound, payloadTooLarge, unsupportedMediaType } from '../errors';
import { json, problem, secured, type OpenAPIRegistry } from '../openapi-helpers';
import { ApplicationIdParamsSchema } from '../schemas/applications';
import {
  AttachmentListSchema,
  AttachmentParamsSchema,
  AttachmentSchema,
  AttachmentUploadBodySchema,
  MAX_ATTACHMENT_BYTES,
  type AttachmentContentType,
} from '../schemas/attachments';
import { parse, z } from '../schemas/common';
import { loadVisibleApplication } from '../services/applications';
import {
  caseStatus,
  findAttachment,
  findAttachmentByHash,
  listAttachments,
  recordAttachment,
  toAttachmentDtos,
} from '../services/attachments';
import { isOpenStatus } from '../../domain/types';

const FIELD = 'file';
const TOO_LARGE = '文件不能超过 10 MB';
const WRONG_TYPE = '只接受 PDF、JPEG 或 PNG 文件';
const MAX_NAME_CHARS = 200;

const SIGNATURES: [AttachmentContentType, Buffer][] = [
  ['application/pdf', Buffer.from('%PDF-', 'latin1')],
  ['image/jpeg', Buffer.from([0xff, 0xd8, 0xff])],
  ['image/png', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])],
];
const SNIFF_BYTES = Math.max(...SIGNATURES.map(([, sig]) => sig.length));

/** The type by the file's first bytes; the name and the client's Content-Type are never trusted. */
export function sniffContentType(head: Buffer): AttachmentContentType | null {
  return SIGNATURES.find(([, sig]) => head.subarray(0, sig.length).equals(sig))?.[0] ?? null;
}

/**
 * The uploaded name as shown and offered on download: the last path segment (either separator, as
 * old Windows browsers send full paths), without control or format characters (U+202E makes
 * `证明\u202Efdp.exe` read as `证明exe.pdf`), without `..` and leading or trailing dots, at most 200
 * characters with the extension kept. Only ever displayed: the bytes are stored under their hash.
 */
export function cleanFileName(raw: string | undefined): string {
  const segments = (raw ?? '')
    .normalize('NFC')
    .replace(/[\p{Cc}\p{Cf}]/gu, '')
    .split(/[/\\]/);
  const name = segments[segments.length - 1].replace(/\.{2,}/g, '.').replace(/^[.\s]+|[.\s]+$/g, '');
  const chars = Array.from(name);
  if (chars.length <= MAX_NAME_CHARS) return name || '附件';
  const dot = name.lastIndexOf('.');
  const ext = dot > 0 && name.length - dot <= 10 ? Array.from(name.slice(dot)) : [];
  const stem = chars.slice(0, MAX_NAME_CHARS - ext.length).join('');
  return stem.replace(/[.\s]+$/, '') + ext.join('');
}

/** RFC 5987 `filename*`: UTF-8, percent-encoded, also the characters encodeURIComponent leaves alone. */
const rfc5987 = (s: string) =>
  encodeURIComponent(s).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** Content-addressed: identical bytes are kept once, whichever case and name they came with. */
const blobPath = (dir: string, sha256: string) => path.join(dir, sha256.slice(0, 2), sha256);

/** What the storage engine hands on: a temp file in attachmentsDir with its hash and sniffed type. */
interface Received {
  path: string;
  size: number;
  sha256: string;
  contentType: AttachmentContentType;
}

const tooLarge = () => payloadTooLarge(TOO_LARGE, [{ path: FIELD, message: TOO_LARGE }]);
const wrongType = () => unsupportedMediaType(WRONG_TYPE, [{ path: FIELD, message: WRONG_TYPE }]);

async function writeAll(out: FileHandle, chunk: Buffer) {
  for (let done = 0; done < chunk.length;) done += (await out.write(chunk, done)).bytesWritten;
}

/**
 * Streams one upload to a temp file while hashing it. Nothing is opened until the first bytes are
 * known to be a PDF, JPEG or PNG, and the temp file is removed on any failure, so a refused upload
 * leaves no trace. The temp file sits in attachmentsDir itself so the final rename is atomic.
 */
async function receive(stream: Readable, dir: string): Promise<Received> {
  const hash = createHash('sha256');
  const tmp = path.join(dir, `.upload-${randomUUID()}`);
  let head = Buffer.alloc(0);
  let size = 0;
  let out: { fh: FileHandle; contentType: AttachmentContentType } | null = null;
  const start = async (bytes: Buffer) => {
    const contentType = sniffContentType(bytes);
    if (!contentType) throw wrongType();
    await mkdir(dir, { recursive: true });
    const fh = await open(tmp, 'wx', 0o640);
    out = { fh, contentType };
    await writeAll(fh, bytes);
    return out;
  };
  try {
    // Not destroyed on an early exit: the rest of the part is drained below and busboy carries on.
    for await (const chunk of stream.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
      size += chunk.length;
      // busboy stops one byte over the limit (and multer reports it); this guard does not rely on that.
      if (size > MAX_ATTACHMENT_BYTES) throw tooLarge();
      hash.update(chunk);
      if (out) await writeAll(out.fh, chunk);
      else if ((head = Buffer.concat([head, chunk])).length >= SNIFF_BYTES) out = await start(head);
    }
    out ??= await start(head); // shorter than the longest signature
    if ((stream as Readable & { truncated?: boolean }).truncated) throw tooLarge();
    await out.fh.close();
    return { path: tmp, size, sha256: hash.digest('hex'), contentType: out.contentType };
  } catch (e) {
    stream.resume();
    await (out as { fh: FileHandle } | null)?.fh.close().catch(() => {});
    await rm(tmp, { force: true });
    throw e;
  }
}

function storageIn(dir: string): StorageEngine {
  return {
    _handleFile(_req, file, cb) {
      receive(file.stream, dir).then(
        (received) => cb(null, received),
        (e: unknown) => cb(e),
      );
    },
    _removeFile(_req, file, cb) {
      rm(file.path, { force: true }).then(
        () => cb(null),
        (e: Error) => cb(e),
      );
    },
  };
}

/** multer's and busboy's failures as problem+json naming the field; disk errors stay 500s. */
function uploadError(err: unknown): unknown {
  if (err instanceof HttpError) return err;
  if (err instanceof MulterError) {
    if (err.code === 'LIMIT_FILE_SIZE') return tooLarge();
    if (err.code === 'LIMIT_UNEXPECTED_FILE' || err.code === 'LIMIT_FILE_COUNT') {
      return badRequest('只能上传一个文件，字段名为 file', [
        { path: FIELD, message: '只能上传一个文件，字段名为 file' },
      ]);
    }
    return badRequest('上传的表单有误', [{ path: err.field ?? 'body', message: err.message }]);
  }
  // A failed open/write/rename (ENOSPC, EACCES …) is ours, not the client's: a logged 500.
  if (typeof (err as { syscall?: unknown })?.syscall === 'string') return err;
  return badRequest('请求不是合法的 multipart/form-data', [{ path: 'body', message: String(err) }]);
}

const CLOSED = '该业务已办结，不能再上传附件';

/** Proof documents of a case (转学证明 …): upload, list, download. */
export function attachmentRoutes(deps: AppDeps): Router {
  const { prisma, logger } = deps;
  const dir = deps.config.attachmentsDir;
  const r = Router();

  const single = multer({
    storage: storageIn(dir),
    limits: { fileSize: MAX_ATTACHMENT_BYTES, files: 1, fields: 10, parts: 12, fieldSize: 64 * 1024 },
    // Browsers send the file name as raw UTF-8; busboy would read it as latin1.
    defParamCharset: 'utf8',
  }).single(FIELD);
  const receiveFile: RequestHandler = (req, res, next) => {
    single(req, res, (err?: unknown) => next(err ? uploadError(err) : undefined));
  };

  /** Checked before the body is read, so a case the caller may not see or that is closed costs no disk. */
  const openCase: RequestHandler = async (req, _res, next) => {
    const { id } = parse(ApplicationIdParamsSchema, req.params);
    const app = await loadVisibleApplication(prisma, currentUser(req), id);
    if (!isOpenStatus(app.status)) throw conflict(CLOSED);
    next();
  };

  /**
   * 201 the new attachment; 200 the existing one when the same bytes are already on the case; 400 no
   * file; 404 case not visible; 409 case closed; 413 over 10 MB; 415 not a PDF, JPEG or PNG.
   */
  r.post('/:id/attachments', openCase, receiveFile, async (req, res) => {
    const u = currentUser(req);
    const { id } = parse(ApplicationIdParamsSchema, req.params);
    const file = req.file as (Express.Multer.File & Received) | undefined;
    if (!file) throw badRequest('请选择要上传的文件', [{ path: FIELD, message: '请在字段 file 中上传一个文件' }]);
    try {
      // The upload may have taken a while: the case may have closed meanwhile.
      if (!isOpenStatus(await caseStatus(prisma, id))) throw conflict(CLOSED);
      const existing = await findAttachmentByHash(prisma, id, file.sha256);
      if (existing) {
        res.status(200).json((await toAttachmentDtos(prisma, [existing]))[0]);
        return;
      }
      const target = blobPath(dir, file.sha256);
      await mkdir(path.dirname(target), { recursive: true });
      // The name is the hash: replacing a blob another case already has rewrites the same bytes.
      await rename(file.path, target);
      const { attachment: row, created } = await recordAttachment(prisma, u, id, {
        fileName: cleanFileName(file.originalname),
        contentType: file.contentType,
        size: file.size,
        sha256: file.sha256,
      });
      if (!created) {
        res.status(200).json((await toAttachmentDtos(prisma, [row]))[0]);
        return;
      }
      res
        .status(201)
        .location(`/api/applications/${id}/attachments/${row.id}`)
        .json((await toAttachmentDtos(prisma, [row]))[0]);
    } finally {
      await rm(file.path, { force: true }); // a no-op once renamed into place
    }
  });

  /** The case's attachments, oldest first; 404 when the caller may not see the case. */
  r.get('/:id/attachments', async (req, res) => {
    const { id } = parse(ApplicationIdParamsSchema, req.params);
    await loadVisibleApplication(prisma, currentUser(req), id);
    const rows = await listAttachments(prisma, id);
    res.json({ items: await toAttachmentDtos(prisma, rows) });
  });

  /** The bytes, always as a download; 404 when the case is not visible or the attachment not of it. */
  r.get('/:id/attachments/:attachmentId', async (req, res) => {
    const { id, attachmentId } = parse(AttachmentParamsSchema, req.params);
    await loadVisibleApplication(prisma, currentUser(req), id);
    const row = await findAttachment(prisma, id, attachmentId);
    if (!row) throw notFound(`该业务没有编号为 ${attachmentId} 的附件`);
    let fh: FileHandle;
    try {
      fh = await open(blobPath(dir, row.sha256), 'r');
    } catch (e) {
      logger.error({ err: e, attachmentId: row.id, sha256: row.sha256 }, 'attachment bytes missing');
      throw e;
    }
    res.status(200);
    res.setHeader('Content-Type', row.contentType);
    res.setHeader('Content-Length', String(row.size)); // content-addressed: the blob is exactly these bytes
    res.setHeader('Content-Disposition', `attachment; filename*=UTF-8''${rfc5987(row.fileName)}`);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    // Pupils' documents: no shared or browser cache keeps a copy.
    res.setHeader('Cache-Control', 'private, no-store');
    try {
      await pipeline(fh.createReadStream(), res);
    } catch (e) {
      // Headers are out: nothing to answer; usually the client went away.
      logger.warn({ err: e, requestId: req.id, attachmentId: row.id }, 'attachment download interrupted');
    }
  });

  return r;
}

/** The OpenAPI paths of this router. */
export function registerAttachmentPaths(reg: OpenAPIRegistry) {
  const binary = z.string().meta({ format: 'binary' });
  reg.registerPath({
    method: 'post',
    path: '/api/applications/{id}/attachments',
    summary: '上传证明材料（可查看该业务的单位，业务在办或退回时）',
    security: secured,
    request: {
      params: ApplicationIdParamsSchema,
      body: { content: { 'multipart/form-data': { schema: AttachmentUploadBodySchema } }, required: true },
    },
    responses: {
      200: json(AttachmentSchema, '相同内容已上传过，返回原有附件'),
      201: json(AttachmentSchema, '已上传'),
      400: problem('缺少字段 file，或表单有误'),
      404: problem('业务不存在或无权查看'),
      409: problem('业务已办结'),
      413: problem(TOO_LARGE),
      415: problem(WRONG_TYPE),
    },
  });
  reg.registerPath({
    method: 'get',
    path: '/api/applications/{id}/attachments',
    summary: '业务的证明材料',
    security: secured,
    request: { params: ApplicationIdParamsSchema },
    responses: { 200: json(AttachmentListSchema, '附件列表'), 404: problem('业务不存在或无权查看') },
  });
  reg.registerPath({
    method: 'get',
    path: '/api/applications/{id}/attachments/{attachmentId}',
    summary: '下载证明材料',
    security: secured,
    request: { params: AttachmentParamsSchema },
    responses: {
      200: {
        description: "文件内容；Content-Disposition: attachment; filename*=UTF-8''…",
        headers: z.object({
          'Content-Disposition': z.string(),
          'X-Content-Type-Options': z.literal('nosniff'),
        }),
        content: {
          'application/pdf': { schema: binary },
          'image/jpeg': { schema: binary },
          'image/png': { schema: binary },
        },
      },
      404: problem('业务不存在、无权查看，或附件不属于该业务'),
    },
  });
}
