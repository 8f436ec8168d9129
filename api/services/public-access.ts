// The machinery every public page (no login) shares, per DESIGN §5 "Public pages": random references and codes
// (the code stored only as a hash), one answer for every wrong input, a throttle per client address that never
// locks a case or a family out, and a log of its own — not the audit hash chain, which strangers must not be able
// to grow. Document verification uses it now; guardian self-service is meant to use it the same way.

import { createHash, randomInt, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import { rateLimit } from 'express-rate-limit';
import type { PrismaClient } from '../../infra/db';
import { CODE_ALPHABET, CODE_LENGTH, REF_LENGTH } from '../../domain/public-code';
import { HttpError, tooManyRequests } from '../errors';

const randomString = (length: number) =>
  Array.from({ length }, () => CODE_ALPHABET[randomInt(CODE_ALPHABET.length)]).join('');

/** A new public reference (40 random bits) and code (50 random bits), with the code's hash to store. */
export function newCredential() {
  const code = randomString(CODE_LENGTH);
  return { ref: randomString(REF_LENGTH), code, codeHash: hashCode(code) };
}

/**
 * sha256 of a normalised code. A plain hash (no slow KDF) is enough: what a code protects is only readable with a
 * right reference too, it is 50 random bits, and every guess costs a throttled request.
 */
export const hashCode = (code: string) => createHash('sha256').update(`xueji-public-code:${code}`).digest('hex');

/** Compares a typed code with a stored hash in constant time. */
export function codeMatches(code: string, storedHash: string): boolean {
  const a = Buffer.from(hashCode(code), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** A hash of a code nobody has, to spend the same work when the reference is unknown. */
export const UNKNOWN_CODE_HASH = hashCode('-');

/** Documents: VALID or REVOKED; cases: FOUND, or EXPIRED (closed too long ago: answered as NO_MATCH). */
export type PublicOutcome = 'VALID' | 'REVOKED' | 'FOUND' | 'EXPIRED' | 'NO_MATCH' | 'THROTTLED';

/** One line in PublicAccessLog. Failures to log are reported, never fatal to the answer. */
export async function logPublicAccess(
  prisma: PrismaClient,
  entry: { endpoint: string; req: Request; ref: unknown; outcome: PublicOutcome; subjectId?: number | null },
) {
  await prisma.publicAccessLog.create({
    data: {
      endpoint: entry.endpoint,
      ip: (entry.req.ip ?? 'unknown').slice(0, 64),
      ref: typeof entry.ref === 'string' ? entry.ref.slice(0, 40) : null,
      outcome: entry.outcome,
      subjectId: entry.subjectId ?? null,
    },
  });
}

/**
 * The one answer for every wrong input — unknown reference, wrong code, malformed either, missing body — so that an
 * answer tells nothing about which part was wrong. 404 problem+json.
 */
export const noMatch = (what: string, codeName = '核验码') =>
  new HttpError(
    404,
    '未找到 (not found)',
    `没有找到与此编号和${codeName}相符的${what}。请核对后重新输入（字母不区分大小写）。`,
  );

/**
 * Per client address: at most `limit` requests per window on a public endpoint, right or wrong. Nothing is locked:
 * the reference and the code keep working from every other address, and this one again after the window.
 */
export function publicThrottle(opts: {
  limit: number;
  windowMs: number;
  onThrottled: (req: Request) => Promise<void>;
}): RequestHandler {
  return rateLimit({
    windowMs: opts.windowMs,
    limit: opts.limit,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    handler: (req, res, next) => {
      const seconds = Number(res.getHeader('Retry-After')) || opts.windowMs / 1000;
      opts
        .onThrottled(req)
        .then(
          () => next(tooManyRequests(`此网络地址的查询过于频繁，请 ${Math.ceil(seconds / 60)} 分钟后再试`, seconds)),
          next,
        );
    },
  });
}
