// JSON answers as UTF-8 bytes, encoded a piece at a time (README "Where a transfer's time goes", 待办).
//
// Converting JSON.stringify's result to bytes, as Express's `res.json` does for every answer, cost about 0.9 ms the
// first time for a page of 50 cases (about 90,000 characters, Chinese among them) and 0.1 ms for a second conversion
// of the same string: the cost is in making stringify's parts one flat string, a two-byte one of about 180 kB.
// Encoding the same answer per element of its lists gives the same bytes without that: 0.57 ms against 1.31 ms for
// such a page, measured side by side (test/json-body.test.ts checks the bytes are JSON.stringify's).

import type { Express, Response } from 'express';

/** Lists at least this long are encoded per element; shorter ones, and everything else, in one go. */
const SPLIT_FROM = 8;

const isPlainObject = (v: unknown): v is Record<string, unknown> => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return (proto === Object.prototype || proto === null) && typeof (v as { toJSON?: unknown }).toJSON !== 'function';
};

/** What JSON.stringify leaves out of an object (and writes as null in a list). */
const omitted = (v: unknown) => v === undefined || typeof v === 'function' || typeof v === 'symbol';

/** Appends `value`'s JSON text to `out` in pieces, each small enough to stay a flat young string. */
function pieces(value: unknown, out: string[], depth: number): void {
  if (depth < 3 && Array.isArray(value) && value.length >= SPLIT_FROM) {
    out.push('[');
    value.forEach((v, i) => {
      if (i > 0) out.push(',');
      if (omitted(v)) out.push('null');
      else pieces(v, out, depth + 1);
    });
    out.push(']');
    return;
  }
  if (depth < 2 && isPlainObject(value)) {
    out.push('{');
    let first = true;
    for (const key of Object.keys(value)) {
      const v = value[key];
      if (omitted(v)) continue;
      out.push(`${first ? '' : ','}${JSON.stringify(key)}:`);
      first = false;
      pieces(v, out, depth + 1);
    }
    out.push('}');
    return;
  }
  out.push(JSON.stringify(value) ?? 'null');
}

/** `JSON.stringify(value)` as UTF-8 bytes, byte for byte; an empty body for what has no JSON form (undefined). */
export function jsonBytes(value: unknown): Buffer {
  if (omitted(value)) return Buffer.alloc(0);
  const out: string[] = [];
  pieces(value, out, 0);
  let size = 0;
  for (const p of out) size += Buffer.byteLength(p);
  const buf = Buffer.allocUnsafe(size);
  let at = 0;
  for (const p of out) at += buf.write(p, at);
  return buf;
}

/**
 * Makes `res.json` of this app send `jsonBytes(body)`, with the Content-Type Express's own would give (the one set
 * already, else application/json, with charset utf-8): the same answer, byte for byte.
 */
export function sendJsonAsBytes(app: Pick<Express, 'response'>): void {
  app.response.json = function json(this: Response, body: unknown) {
    const type = String(this.get('Content-Type') ?? 'application/json');
    this.set(
      'Content-Type',
      /;\s*charset=/i.test(type) ? type.replace(/charset=[^;]*/i, 'charset=utf-8') : `${type}; charset=utf-8`,
    );
    return this.send(jsonBytes(body));
  };
}
