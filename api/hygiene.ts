import type { RequestHandler } from 'express';
import { unsupportedMediaType } from './errors';

/** Bodies the API reads: JSON everywhere, multipart/form-data for uploads (attachments, imports). */
const BODY_TYPES = ['application/json', 'application/*+json', 'multipart/form-data'];

/**
 * For every /api request, before its body is read:
 * - `Cache-Control: no-store`: answers carry pupils' data and tokens; no browser or proxy may keep them (the
 *   console's own files outside /api are cached as before);
 * - a body of another type (text/plain, a form, XML …) is refused with 415 naming the header, instead of being
 *   ignored and reported as missing fields.
 */
export const apiHygiene: RequestHandler = (req, res, next) => {
  res.setHeader('Cache-Control', 'no-store');
  const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  if (hasBody && req.method !== 'GET' && req.method !== 'HEAD' && !req.is(BODY_TYPES)) {
    const message = '请求体应为 application/json（上传文件用 multipart/form-data）';
    return next(unsupportedMediaType(message, [{ path: 'Content-Type', message }]));
  }
  next();
};
