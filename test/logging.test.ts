import { Writable } from 'node:stream';
import request from 'supertest';
import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { buildApp } from '../api/app';
import { TokenService } from '../api/auth';
import { createLogger, redactIdNumbers } from '../infra/logger';
import { appendAudit, verifyAuditChain } from '../infra/audit';
import { DEFAULT_RULES } from '../domain/rules';
import { createTestDatabase, type TestDatabase } from './support/stack';

const ID = '520302201505050014';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { lines, logger: createLogger('info', stream) };
}

test('ID numbers are masked in any log line, alone or inside a 学籍号', () => {
  const { lines, logger } = capture();
  logger.info({ path: `/api/students/G${ID}`, idNumber: ID, nested: { note: `id ${ID}` } }, `looked up G${ID}`);
  logger.error(new Error(`no pupil ${ID}`));
  const all = lines.join('');
  expect(all).not.toContain(ID);
  expect(all).toContain('520302********0014');
  expect(redactIdNumbers('11010519491231002X')).toBe('110105********002X');
  expect(redactIdNumbers('order 12345')).toBe('order 12345');
  // A sha256 with 18 digits in a row is not an ID number.
  const hash = 'ab' + '520302201505050014' + 'c'.repeat(44);
  expect(redactIdNumbers(hash)).toBe(hash);
});

/** The same ID number as a URL, a JSON string, an input method or a careless programmer may write it. */
const ENCODINGS: [string, string][] = [
  ['plain', ID],
  ['学籍号 with %-encoded G', `%47${ID}`],
  ['every digit %-encoded', [...ID].map((c) => `%3${c}`).join('')],
  ['half %-encoded', ID.slice(0, 9) + [...ID.slice(9)].map((c) => `%3${c}`).join('')],
  ['\\u-escaped', [...ID].map((c) => `\\u003${c}`).join('')],
  ['full-width', ID.replace(/\d/g, (d) => String.fromCharCode(0xff10 + Number(d)))],
  ['full-width G and digits', 'Ｇ' + ID.replace(/\d/g, (d) => String.fromCharCode(0xff10 + Number(d)))],
];

test('ID numbers are masked in logs however they are encoded: %-encoded, \\u-escaped, full-width', () => {
  const { lines, logger } = capture();
  for (const [what, written] of ENCODINGS) {
    logger.info({ what, path: `/api/students/${written}`, note: `学籍号 ${written}` }, `looked up ${written}`);
    expect([what, redactIdNumbers(written)]).toEqual([what, expect.stringContaining('520302********0014')]);
  }
  expect(redactIdNumbers('11010519491231002%78')).toBe('110105********002X');
  const all = lines.join('');
  for (const [, written] of ENCODINGS) expect(all).not.toContain(written);
  // Nothing of the birth date or the sequence is left in any form.
  expect(all).not.toMatch(/20150505|%32%30%31%35|２０１５０５０５|u0032\\u0030\\u0031\\u0035/);
  expect(all.match(/520302\*{8}0014/g)?.length).toBe(ENCODINGS.length * 3);
  for (const line of lines) JSON.parse(line); // still JSON
});

describe('request logs of the real app', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  test('carry a request id and no ID number, even when the path holds one', async () => {
    const { lines, logger } = capture();
    const connection = Connection.lazy({ address: process.env.TEST_TEMPORAL_ADDRESS! });
    const tokens = new TokenService(randomBytes(32).toString('hex'), '1h');
    const app = buildApp({
      prisma: db.prisma,
      temporal: new Client({ connection }),
      tokens,
      logger,
      rules: DEFAULT_RULES,
      config: { TEMPORAL_TASK_QUEUE: 'unused', UPDATE_TIMEOUT_MS: 1000, attachmentsDir: process.env.TEST_WORK_DIR! },
    });
    const login = await request(app).post('/api/auth/login').send({ username: 'hhg.s1', password: 'demo-password' });
    const res = await request(app).get(`/api/students/G${ID}`).set('Authorization', `Bearer ${login.body.token}`);
    expect(res.status).toBe(200);
    expect(res.headers['x-request-id']).toEqual(expect.any(String));
    await connection.close();
    const all = lines.join('');
    expect(all).toContain(res.headers['x-request-id']);
    expect(all).toContain('/api/students/G520302********0014');
    expect(all).not.toContain(ID);
    expect(all).not.toContain(login.body.token);
    expect(all).not.toContain('demo-password');
  });

  test('a %-encoded 学籍号 in the path is masked in the request log too', async () => {
    const { lines, logger } = capture();
    const connection = Connection.lazy({ address: process.env.TEST_TEMPORAL_ADDRESS! });
    const app = buildApp({
      prisma: db.prisma,
      temporal: new Client({ connection }),
      tokens: new TokenService(randomBytes(32).toString('hex'), '1h'),
      logger,
      rules: DEFAULT_RULES,
      config: { TEMPORAL_TASK_QUEUE: 'unused', UPDATE_TIMEOUT_MS: 1000, attachmentsDir: process.env.TEST_WORK_DIR! },
    });
    const login = await request(app).post('/api/auth/login').send({ username: 'hhg.s1', password: 'demo-password' });
    const encoded = '%47' + [...ID].map((c) => `%3${c}`).join('');
    const res = await request(app).get(`/api/students/${encoded}`).set('Authorization', `Bearer ${login.body.token}`);
    expect(res.status).toBe(200);
    await connection.close();
    const all = lines.join('');
    expect(all).toContain('/api/students/%47520302********0014');
    expect(all).not.toContain(encoded);
  });

  test('audit rows are masked when written, however the number is encoded; the chain verifies', async () => {
    const details = Object.fromEntries(ENCODINGS.map(([what, written]) => [what, `备注 ${written} 结束`]));
    await db.prisma.$transaction((tx) =>
      appendAudit(tx, { actor: null, action: 'test.masking', entityId: `%47${ID}`, details }),
    );
    const row = await db.prisma.auditEvent.findFirstOrThrow({ where: { action: 'test.masking' } });
    expect(row.entityId).toBe('%47520302********0014');
    for (const [what] of ENCODINGS) {
      expect([what, (row.details as Record<string, string>)[what]]).toEqual([
        what,
        expect.stringMatching(/^备注 \S*520302\*{8}0014 结束$/),
      ]);
    }
    expect(JSON.stringify(row.details)).not.toMatch(/20150505|%32%30%31%35|２０１５|u0032/);
    expect((await verifyAuditChain(db.prisma)).ok).toBe(true);
  });
});
