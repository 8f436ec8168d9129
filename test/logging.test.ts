import { Writable } from 'node:stream';
import request from 'supertest';
import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { buildApp } from '../api/app';
import { TokenService } from '../api/auth';
import { createLogger, redactIdNumbers } from '../infra/logger';
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
});
