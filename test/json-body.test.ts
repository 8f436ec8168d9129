// The API's JSON answers are encoded a list element at a time (api/json-body.ts): the bytes and the headers must be
// exactly what Express's own res.json sends.
import express from 'express';
import fc from 'fast-check';
import request from 'supertest';
import { jsonBytes, sendJsonAsBytes } from '../api/json-body';

/** Values as an API answer holds them: nested objects and lists (long ones too), Chinese text, dates, undefined. */
const answer = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constantFrom(null, true, false, undefined, () => 1, Symbol('s'), 0, -1.5, 1e21, Number.NaN, '', '南江县第一中学', 'a"b\\c\n\u2028'),
    fc.string(),
    fc.string({ unit: 'grapheme' }),
    fc.integer(),
    fc.date({ noInvalidDate: true }),
    fc.array(tie('value'), { maxLength: 20 }),
    fc.dictionary(fc.string(), tie('value'), { maxKeys: 6 }),
    fc.record({ items: fc.array(tie('value'), { minLength: 8, maxLength: 30 }), total: fc.integer() }),
  ),
})).value;

describe('jsonBytes', () => {
  it('gives JSON.stringify’s text as UTF-8, byte for byte, for any answer', () => {
    fc.assert(
      fc.property(answer, (v) => {
        expect(jsonBytes(v).equals(Buffer.from(JSON.stringify(v) ?? ''))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('splits a page of cases and still gives the same bytes', () => {
    const kase = (id: number) => ({
      id,
      student: { name: '王小明', studentNo: 'G5119222010010****' },
      steps: Array.from({ length: 9 }, (_, i) => ({ seq: i, org: { name: '南江县教育局' }, at: new Date(i * 1e9) })),
      details: undefined,
      f: () => 1,
    });
    const page = { items: Array.from({ length: 50 }, (_, i) => kase(i)), total: 6250, nextCursor: null };
    expect(jsonBytes(page).toString('utf8')).toBe(JSON.stringify(page));
    expect(JSON.parse(jsonBytes(page).toString('utf8')).items[49].steps[8].at).toBe(new Date(8e9).toISOString());
  });
});

describe('res.json through sendJsonAsBytes', () => {
  const body = { items: Array.from({ length: 12 }, (_, i) => ({ i, name: '红花岗区第一小学' })), total: 12 };
  const appOf = (patched: boolean) => {
    const app = express();
    if (patched) sendJsonAsBytes(app);
    app.get('/page', (_req, res) => void res.json(body));
    app.get('/problem', (_req, res) => void res.status(409).type('application/problem+json').json({ title: '冲突' }));
    app.get('/charset', (_req, res) => void res.set('Content-Type', 'application/json; charset=latin1').json({ a: 1 }));
    app.head('/page', (_req, res) => void res.json(body));
    return app;
  };

  it.each(['/page', '/problem', '/charset'])('answers %s exactly as Express’s own res.json', async (path) => {
    const [ours, theirs] = await Promise.all([request(appOf(true)).get(path), request(appOf(false)).get(path)]);
    expect(ours.status).toBe(theirs.status);
    expect(ours.headers['content-type']).toBe(theirs.headers['content-type']);
    expect(ours.headers['content-length']).toBe(theirs.headers['content-length']);
    expect(ours.text).toBe(theirs.text);
  });

  it('sends no body to HEAD, with the length the body would have', async () => {
    const [ours, theirs] = await Promise.all([request(appOf(true)).head('/page'), request(appOf(false)).head('/page')]);
    expect(ours.headers['content-length']).toBe(theirs.headers['content-length']);
    expect(ours.text ?? '').toBe('');
  });
});
