import type { ErrorRequestHandler, Request, RequestHandler } from 'express';
import { ZodError } from 'zod';
import type { Logger } from 'pino';
import { recordAudit } from '../infra/audit';
import { describeDbError, isDatabaseUnavailable, type PrismaClient } from '../infra/db';
import { redactIdNumbers } from '../infra/logger';

export interface FieldError {
  path: string;
  message: string;
}

/** The one error type handlers throw; the middleware below turns it into problem+json (RFC 9457). */
export class HttpError extends Error {
  /** Seconds, sent as Retry-After (429, 503). */
  retryAfter?: number;
  /** RFC 9457 extension members, e.g. an import's per-row report. */
  extensions?: Record<string, unknown>;
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail?: string,
    readonly errors?: FieldError[],
    readonly slug: string = slugFor(status),
  ) {
    super(detail ?? title);
    this.name = 'HttpError';
  }
}

function slugFor(status: number): string {
  return (
    {
      400: 'invalid-request',
      401: 'unauthenticated',
      403: 'forbidden',
      404: 'not-found',
      409: 'conflict',
      405: 'method-not-allowed',
      406: 'not-acceptable',
      408: 'request-timeout',
      411: 'length-required',
      413: 'payload-too-large',
      414: 'uri-too-long',
      415: 'unsupported-media-type',
      416: 'range-not-satisfiable',
      422: 'rule-violation',
      429: 'too-many-requests',
      503: 'unavailable',
    }[status] ?? (status < 500 ? 'client-error' : 'internal-error')
  );
}

export const badRequest = (detail: string, errors?: FieldError[]) =>
  new HttpError(400, '请求参数有误 (invalid request)', detail, errors);
export const unauthenticated = (detail = '请先登录，或登录已过期，请重新登录') =>
  new HttpError(401, '未登录 (unauthenticated)', detail);
export const forbidden = (detail: string) => new HttpError(403, '无权操作 (forbidden)', detail);
export const notFound = (detail: string, errors?: FieldError[]) =>
  new HttpError(404, '未找到 (not found)', detail, errors);
export const conflict = (detail: string) => new HttpError(409, '操作冲突 (conflict)', detail);
export const ruleViolation = (detail: string, errors?: FieldError[]) =>
  new HttpError(422, '不符合办理条件 (rule violation)', detail, errors);
/** 503, with a Retry-After (seconds) on every one: the client may retry, and when. */
export const unavailable = (detail: string, retryAfterSeconds = 5) =>
  Object.assign(new HttpError(503, '服务暂不可用 (unavailable)', detail), { retryAfter: retryAfterSeconds });
/** Seconds a client should wait before retrying while the database is unreachable. */
export const DATABASE_RETRY_AFTER_SECONDS = 10;
export const databaseUnavailable = () =>
  unavailable('数据库暂时无法连接，请稍后重试；已提交的内容不会丢失，重试是安全的', DATABASE_RETRY_AFTER_SECONDS);
export const payloadTooLarge = (detail: string, errors?: FieldError[]) =>
  new HttpError(413, '内容过大 (payload too large)', detail, errors);
export const tooManyRequests = (detail: string, retryAfterSeconds: number) =>
  Object.assign(new HttpError(429, '请求过于频繁 (too many requests)', detail), {
    retryAfter: Math.max(1, Math.ceil(retryAfterSeconds)),
  });
export const unsupportedMediaType = (detail: string, errors?: FieldError[]) =>
  new HttpError(415, '不支持的文件类型 (unsupported media type)', detail, errors, 'unsupported-media-type');

export function zodToHttpError(err: ZodError, where: 'body' | 'query' | 'params' = 'body'): HttpError {
  const errors = err.issues.map((i) => ({ path: i.path.join('.') || where, message: i.message }));
  const fields = errors.map((e) => e.path).join('、');
  return badRequest(`以下字段有误：${fields}`, errors);
}

function send(res: Parameters<ErrorRequestHandler>[2], e: HttpError, requestId: string | undefined) {
  if (e.retryAfter !== undefined) res.setHeader('Retry-After', String(e.retryAfter));
  // An error is about this request only: no browser or proxy keeps it.
  res.setHeader('Cache-Control', 'no-store');
  res
    .status(e.status)
    .type('application/problem+json')
    .json({
      type: `/problems/${e.slug}`,
      title: e.title,
      status: e.status,
      detail: e.detail ?? e.title,
      ...(e.errors ? { errors: e.errors } : {}),
      ...e.extensions,
      ...(requestId ? { requestId } : {}),
    });
}

export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(notFound(`没有这个接口：${req.method} ${req.path}`));
};

/** A permission denial, for the audit trail: who, what, where (ID numbers in the path masked). */
async function recordDenial(prisma: PrismaClient, req: Request, e: HttpError) {
  const u = req.user;
  await recordAudit(prisma, {
    actor: u ? { userId: u.userId, displayName: u.displayName, orgCode: u.orgCode } : null,
    action: 'auth.denied',
    details: {
      method: req.method,
      path: redactIdNumbers(req.originalUrl.split('?')[0]).slice(0, 300),
      reason: e.detail,
      ...(u ? { username: u.username, role: u.role } : {}),
    },
  });
}

/**
 * Client errors raised by Express and its body parsers before any handler of ours runs (they carry `status` or
 * `statusCode` 4xx, as http-errors makes them): each keeps its status, with a Chinese message. Null for anything
 * else.
 */
export function expressClientError(err: unknown): HttpError | null {
  if (typeof err !== 'object' || err === null) return null;
  const x = err as { status?: unknown; statusCode?: unknown; type?: unknown; name?: unknown; code?: unknown };
  const status = typeof x.status === 'number' ? x.status : typeof x.statusCode === 'number' ? x.statusCode : NaN;
  if (!(status >= 400 && status < 500)) return null;
  const body = (message: string) => [{ path: 'body', message }];
  switch (x.type) {
    case 'entity.parse.failed':
      return badRequest('请求体不是合法的 JSON', body('不是合法的 JSON'));
    case 'entity.too.large':
      return new HttpError(413, '请求体过大 (payload too large)', '请求体超过大小限制', body('请求体过大'));
    case 'charset.unsupported':
    case 'encoding.unsupported':
      return unsupportedMediaType('请使用 UTF-8 编码、未压缩或 gzip/deflate/br 压缩的 JSON', body('不支持的编码'));
    case 'request.size.invalid':
    case 'request.aborted':
      return badRequest('请求体长度与 Content-Length 不符，或传输中断', body('请求体不完整'));
  }
  if (x.name === 'URIError' || status === 400) {
    // Bad percent-encoding in the path (/api/applications/%ZZ), or a compressed body that does not inflate.
    const inPath = x.name === 'URIError';
    return badRequest(
      inPath ? '请求地址中含有无法解码的字符（% 编码有误）' : '请求体无法解压或读取（Content-Encoding 与内容不符）',
      [{ path: inPath ? 'path' : 'body', message: inPath ? '% 编码有误' : '无法解压' }],
    );
  }
  const titles: Record<number, string> = {
    404: '未找到 (not found)',
    405: '不允许的方法 (method not allowed)',
    413: '内容过大 (payload too large)',
    414: '请求地址过长 (URI too long)',
    415: '不支持的内容类型 (unsupported media type)',
    416: '请求的范围无效 (range not satisfiable)',
  };
  return new HttpError(status, titles[status] ?? '请求有误 (client error)', '请求有误，请检查后重试');
}

/** Maps every error to problem+json; with `prisma`, each 403 is written to the audit trail first. */
export function errorHandler(logger: Logger, prisma?: PrismaClient): ErrorRequestHandler {
  return async (err, req, res, _next) => {
    const requestId = req.id as string | undefined;
    let e: HttpError;
    if (err instanceof HttpError) e = err;
    else if (err instanceof ZodError) e = zodToHttpError(err);
    else if (isDatabaseUnavailable(err)) {
      logger.warn({ requestId, err: describeDbError(err) }, 'database unavailable');
      e = databaseUnavailable();
    } else {
      const client = expressClientError(err);
      if (client) e = client;
      else {
        logger.error({ err, requestId }, 'unhandled error');
        e = new HttpError(
          500,
          '系统内部错误 (internal error)',
          `系统出错了，请联系管理员并提供编号 ${requestId ?? ''}`.trim(),
        );
      }
    }
    if (e.status >= 500 && err instanceof HttpError) logger.warn({ requestId, detail: e.detail }, e.title);
    if (e.status === 403 && prisma) {
      // The denial is answered even if the audit write fails (the database may be down): the failure is logged.
      await recordDenial(prisma, req, e).catch((auditErr: unknown) =>
        logger.error({ err: auditErr, requestId }, 'audit of a denial failed'),
      );
    }
    if (res.headersSent) {
      // A download already under way: nothing more can be said; end it so the client sees it was cut short.
      res.destroy();
      return;
    }
    send(res, e, requestId);
  };
}
