import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
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

/**
 * Requests Node's HTTP parser refuses before Express sees them (a header block over 16 kB — a very long URL or token
 * —, a malformed request line, a bad header) are answered as problem+json too, instead of Node's bare text.
 */
export function answerClientErrors(server: Server): void {
  server.on('clientError', (err: NodeJS.ErrnoException & { bytesParsed?: number }, socket: Duplex) => {
    if (!socket.writable || (socket as Duplex & { _httpMessage?: unknown })._httpMessage) {
      socket.destroy();
      return;
    }
    const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
    const status = tooLarge ? 431 : 400;
    const body = JSON.stringify({
      type: `/problems/${tooLarge ? 'headers-too-large' : 'bad-request'}`,
      title: tooLarge ? '请求头过大 (request header fields too large)' : '请求格式有误 (bad request)',
      status,
      detail: tooLarge ? '请求地址或请求头过长' : 'HTTP 请求格式有误',
    });
    socket.end(
      `HTTP/1.1 ${status} ${tooLarge ? 'Request Header Fields Too Large' : 'Bad Request'}\r\n` +
        'Content-Type: application/problem+json; charset=utf-8\r\nCache-Control: no-store\r\nConnection: close\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  });
}
