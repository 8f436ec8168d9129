import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import type { Express } from 'express';
import request from 'supertest';
import { forgetCachedSessions } from '../api/auth';
import { buildApp } from '../api/app';
import { TokenService } from '../api/auth';
import { buildOpenApiDocument } from '../api/openapi';
import { createPrisma, type PrismaClient } from '../infra/db';
import { createLogger } from '../infra/logger';
import { migrateDatabase } from '../infra/migrations';
import { startEmbeddedPostgres, type RunningPostgres } from '../infra/postgres';
import { seedDemoData } from '../infra/seed';
import { DEFAULT_RULES } from '../domain/rules';
import { freePort } from './support/ports';
import { LI, SOON, ZHANG } from './support/stack';

// Postgres stopped under a running API: every route answers 503 problem+json with Retry-After — the auth middleware
// and login included — and the same app serves again once Postgres is back. This file runs its own Postgres, so it can
// stop it without disturbing the other test files.

const PNG = Buffer.from(
  '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8ffff3f0005fe02fea7d6a4a50000000049454e44ae426082',
  'hex',
);

let pg: RunningPostgres;
let dataDir: string;
let port: number;
let prisma: PrismaClient;
let app: Express;
let connection: Connection;
const logged: string[] = [];

function appOn(db: PrismaClient) {
  const stream = new Writable({
    write(chunk, _enc, done) {
      logged.push(chunk.toString());
      done();
    },
  });
  return buildApp({
    prisma: db,
    temporal: new Client({ connection }),
    tokens,
    logger: createLogger('warn', stream),
    rules: DEFAULT_RULES,
    config: {
      TEMPORAL_TASK_QUEUE: `outage-${randomBytes(3).toString('hex')}`,
      UPDATE_TIMEOUT_MS: 500,
      attachmentsDir: path.join(process.env.TEST_WORK_DIR!, 'outage-attachments'),
    },
    security: { loginIpLimit: 1000 },
  });
}
const tokens = new TokenService(randomBytes(32).toString('hex'), '1h');

const ids = { caseId: 0, attachmentId: 0, userId: 0 };
const auth: Record<string, string> = {};
let refreshToken = '';

beforeAll(async () => {
  dataDir = path.join(process.env.TEST_WORK_DIR!, `pg-outage-${randomBytes(3).toString('hex')}`);
  port = await freePort();
  pg = await startEmbeddedPostgres({ dataDir, port });
  await migrateDatabase(pg.adminUrl);
  prisma = createPrisma(pg.adminUrl, 5);
  await seedDemoData(prisma, { pupilsPerSchool: 2 });
  connection = Connection.lazy({ address: process.env.TEST_TEMPORAL_ADDRESS! });
  app = appOn(prisma);
  for (const user of ['admin', 'nj.s1', 'nj.s2', 'hhg.s1', 'nj.edu']) {
    const res = await request(app).post('/api/auth/login').send({ username: user, password: 'demo-password' });
    expect(res.status).toBe(200);
    auth[user] = `Bearer ${res.body.token}`;
    if (user === 'nj.s2') refreshToken = res.body.refreshToken;
  }
  const filed = await request(app)
    .post('/api/applications')
    .set('Authorization', auth['nj.s1'])
    .send({ type: 'TRANSFER', studentNo: ZHANG, reason: '随父母工作调动', effectiveDate: SOON });
  expect(filed.status).toBe(201);
  ids.caseId = filed.body.id;
  const attached = await request(app)
    .post(`/api/applications/${ids.caseId}/attachments`)
    .set('Authorization', auth['nj.s1'])
    .attach('file', PNG, 'proof.png');
  expect(attached.status).toBe(201);
  ids.attachmentId = attached.body.id;
  ids.userId = (await prisma.user.findUniqueOrThrow({ where: { username: 'nj.s2' } })).id;
}, 120_000);

afterAll(async () => {
  // The causes the mapping met, as logged (for anyone extending infra/db.ts isDatabaseUnavailable).
  const seen = new Map<string, number>();
  for (const line of logged) {
    const entry = JSON.parse(line) as { msg?: string; err?: string };
    if (entry.msg === 'database unavailable') {
      const cause = String(entry.err).replace(/\d{3,}/g, 'N');
      seen.set(cause, (seen.get(cause) ?? 0) + 1);
    }
  }
  console.log(`[db-outage] causes mapped to 503:\n${[...seen].map(([c, n]) => `  ${n} × ${c}`).join('\n')}`);
  await prisma?.$disconnect().catch(() => undefined);
  await connection?.close().catch(() => undefined);
  await pg?.stop();
});

interface Sample {
  user?: string;
  body?: unknown;
  query?: Record<string, string>;
  file?: [Buffer, string];
}

/** A request each operation would answer with success while Postgres is up (and one that needs Postgres). */
const SAMPLES: Record<string, () => Sample> = {
  'POST /api/auth/login': () => ({ body: { username: 'nj.s1', password: 'demo-password' } }),
  'POST /api/auth/refresh': () => ({ body: { refreshToken } }),
  'POST /api/auth/logout': () => ({ body: { refreshToken } }),
  'POST /api/auth/change-password': () => ({
    user: 'nj.s2',
    body: { currentPassword: 'demo-password', newPassword: 'a-new-long-password' },
  }),
  'GET /api/admin/users': () => ({ user: 'admin' }),
  'POST /api/admin/users': () => ({
    user: 'admin',
    body: { username: 'new.one', displayName: '新用户', role: 'ADMIN', password: 'long-enough-pass' },
  }),
  'POST /api/admin/users/{id}/disable': () => ({ user: 'admin' }),
  'POST /api/admin/users/{id}/enable': () => ({ user: 'admin' }),
  'POST /api/admin/users/{id}/reset-password': () => ({ user: 'admin', body: { password: 'long-enough-pass' } }),
  'POST /api/admin/imports/organisations': () => ({
    user: 'admin',
    file: [Buffer.from('代码,名称,类型\n610102,新城区教育局,教育局\n'), 'orgs.csv'],
  }),
  'POST /api/admin/imports/students': () => ({
    user: 'admin',
    file: [Buffer.from('姓名,身份证号,学校代码,年级,班级\n王小红,110105201903020111,5119220001,1,1班\n'), 'p.csv'],
  }),
  'GET /api/students': () => ({ user: 'nj.s1', query: { schoolCode: '5203020001', name: '张小明' } }),
  'POST /api/students': () => ({
    user: 'nj.s1',
    body: {
      name: '王小红',
      gender: 'MALE',
      birthDate: '2019-03-02',
      idNumber: '110105201903020111',
      grade: 1,
      className: '1班',
    },
  }),
  'POST /api/students/match': () => ({
    user: 'nj.s1',
    body: { schoolCode: '5203020001', name: '张小明', studentNo: ZHANG },
  }),
  'GET /api/students/{studentNo}': () => ({ user: 'hhg.s1' }),
  'POST /api/applications': () => ({
    user: 'nj.s1',
    body: { type: 'TRANSFER', studentNo: LI, reason: '随父母工作调动', effectiveDate: SOON },
  }),
  'GET /api/applications': () => ({ user: 'nj.s1' }),
  'GET /api/applications/{id}': () => ({ user: 'nj.s1' }),
  'POST /api/applications/{id}/decisions': () => ({
    user: 'nj.s1',
    body: { stage: 'RECEIVING_SCHOOL', decision: 'APPROVE' },
  }),
  'POST /api/applications/{id}/withdraw': () => ({ user: 'nj.s1', body: { reason: '家长改变主意' } }),
  'POST /api/applications/{id}/resubmit': () => ({ user: 'nj.s1', body: { reason: '已更正' } }),
  'POST /api/applications/{id}/reversal': () => ({ user: 'nj.s1', body: { reason: '录入错误' } }),
  'POST /api/applications/{id}/cancel': () => ({ user: 'admin', body: { reason: '重复提交' } }),
  'POST /api/applications/{id}/query-code': () => ({ user: 'nj.s1' }),
  'POST /api/applications/{id}/attachments': () => ({ user: 'nj.s1', file: [PNG, 'again.png'] }),
  'GET /api/applications/{id}/attachments': () => ({ user: 'nj.s1' }),
  'GET /api/applications/{id}/attachments/{attachmentId}': () => ({ user: 'nj.s1' }),
  'GET /api/tasks': () => ({ user: 'nj.s1' }),
  'GET /api/admin/stuck': () => ({ user: 'admin' }),
  'POST /api/admin/applications/{id}/remind': () => ({ user: 'admin' }),
  'POST /api/admin/applications/{id}/extend': () => ({
    user: 'admin',
    body: { stage: 'RECEIVING_SCHOOL', dueDate: SOON, reason: '学校放假延期办理' },
  }),
  'GET /api/admin/calendar': () => ({ user: 'admin' }),
  'PUT /api/admin/calendar/{year}': () => ({
    user: 'admin',
    body: { holidays: [{ name: '元旦', dates: ['2027-01-01'] }], workdays: [] },
  }),
  'GET /api/admin/stats': () => ({ user: 'admin' }),
  'GET /api/admin/stats.xlsx': () => ({ user: 'admin' }),
  'GET /api/admin/audit': () => ({ user: 'admin' }),
  'POST /api/admin/applications/{id}/repair': () => ({ user: 'admin', body: { reason: '导入时带入控制字符' } }),
  'POST /api/admin/applications/{id}/override': () => ({
    user: 'admin',
    body: { stage: 'RECEIVING_SCHOOL', decision: 'APPROVE', reason: '学校账号被锁定' },
  }),
  'GET /api/console/config': () => ({ user: 'nj.s1' }),
  'GET /api/organisations': () => ({ user: 'nj.s1' }),
  'GET /api/organisations/regions': () => ({ user: 'nj.s1' }),
  'GET /api/reason-codes': () => ({ user: 'nj.s1' }),
  'POST /api/admin/users/{id}/unlock': () => ({ user: 'admin' }),
  'GET /api/pupils': () => ({ user: 'nj.s1', query: { q: '王芳' } }),
  'GET /api/pupils/{ref}': () => ({ user: 'nj.s1' }),
  'GET /api/stats': () => ({ user: 'nj.edu' }),
  'GET /api/stats.xlsx': () => ({ user: 'nj.edu' }),
  'GET /api/applications/{id}/form.pdf': () => ({ user: 'nj.s1' }),
  'GET /api/applications/{id}/letter.pdf': () => ({ user: 'nj.s1' }),
  'GET /api/applications/{id}/documents': () => ({ user: 'nj.s1' }),
  'POST /api/admin/documents/{ref}/revoke': () => ({ user: 'admin', body: { reason: '打印错误，作废' } }),
  'POST /api/public/verify': () => ({ body: { ref: 'K7QM2XD9', code: 'ABCD-2EFG-H3' } }),
  'POST /api/public/progress': () => ({ body: { ref: 'K7QM2XD9', code: 'ABCD-2EFG-H3' } }),
  'GET /api/admin/audit/verify': () => ({ user: 'admin' }),
};

/** Health and readiness say "unavailable" in their own way; the API document needs no database. */
const NOT_API = new Set(['GET /healthz', 'GET /readyz', 'GET /livez', 'GET /metrics', 'GET /api/openapi.json']);

function operations(): string[] {
  const doc = buildOpenApiDocument() as unknown as { paths: Record<string, Record<string, unknown>> };
  return Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`));
}

function send(target: Express, op: string) {
  const [method, template] = op.split(' ');
  const url = template
    .replace('{id}', String(op.includes('/users/') ? ids.userId : ids.caseId))
    .replace('{attachmentId}', String(ids.attachmentId))
    .replace('{studentNo}', ZHANG)
    .replace('{ref}', 'K7QM2XD9')
    .replace('{year}', '2027');
  const s = SAMPLES[op]();
  const agent = request(target);
  let req = method === 'GET' ? agent.get(url) : method === 'PUT' ? agent.put(url) : agent.post(url);
  if (s.user) req = req.set('Authorization', auth[s.user]);
  if (s.query) req = req.query(s.query);
  if (s.file) return req.attach('file', s.file[0], s.file[1]);
  return s.body === undefined ? req : req.send(s.body as object);
}

const expect503 = (op: string, res: request.Response) => {
  expect({
    op,
    status: res.status,
    type: res.headers['content-type'],
    retryAfter: res.headers['retry-after'],
    cacheControl: res.headers['cache-control'],
  }).toEqual({
    op,
    status: 503,
    type: expect.stringMatching(/^application\/problem\+json/),
    retryAfter: expect.stringMatching(/^\d+$/),
    cacheControl: 'no-store',
  });
  expect(res.body.title).toMatch(/[\u4e00-\u9fff]/);
};

test('every operation of the API document has a sample here (a new route must say how it behaves in an outage)', () => {
  const missing = operations().filter((op) => !NOT_API.has(op) && !SAMPLES[op]);
  expect(missing).toEqual([]);
});

test('a 403 is answered as 403 even when writing its audit row fails', async () => {
  // A real failure of the audit insert, in Postgres itself.
  await prisma.$executeRawUnsafe(`create or replace function xj_refuse() returns trigger language plpgsql as $$
    begin raise exception 'audit store unavailable'; end $$`);
  await prisma.$executeRawUnsafe(
    `create trigger xj_refuse before insert on "AuditEvent" for each row execute function xj_refuse()`,
  );
  try {
    const res = await request(app).get('/api/admin/stuck').set('Authorization', auth['nj.s1']);
    expect(res.status).toBe(403);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(logged.join('')).toContain('audit of a denial failed');
  } finally {
    await prisma.$executeRawUnsafe(`drop trigger xj_refuse on "AuditEvent"`);
  }
});

test('Postgres stopped: every route 503 problem+json with Retry-After; started again: the same app serves', async () => {
  await pg.stop();
  for (const op of operations()) {
    if (NOT_API.has(op)) continue;
    // Who a token belongs to is kept a few seconds: without it, every route needs the database for that at least.
    forgetCachedSessions();
    // Twice: the first request finds the pool's connections dead, the second finds no server at all.
    for (let i = 0; i < 2; i++) expect503(op, await send(app, op));
  }
  expect(logged.join('')).not.toContain('unhandled error');

  pg = await startEmbeddedPostgres({ dataDir, port });
  const until = Date.now() + 20_000;
  let status = 0;
  while (Date.now() < until && status !== 200) {
    status = (await request(app).get('/api/applications').set('Authorization', auth['nj.s1'])).status;
    if (status !== 200) await new Promise((r) => setTimeout(r, 200));
  }
  expect(status).toBe(200);
  expect(
    (await request(app).post('/api/auth/login').send({ username: 'hhg.s1', password: 'demo-password' })).status,
  ).toBe(200);
});

test('Postgres not answering at all (its postmaster stopped): a new connection times out into a 503, not a hang', async () => {
  const pid = Number(fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const fresh = createPrisma(pg.adminUrl, 2);
  const freshApp = appOn(fresh);
  process.kill(pid, 'SIGSTOP');
  try {
    const started = Date.now();
    expect503(
      'GET /api/applications',
      await request(freshApp).get('/api/applications').set('Authorization', auth['nj.s1']),
    );
    expect503(
      'POST /api/auth/login',
      await request(freshApp).post('/api/auth/login').send({ username: 'nj.s1', password: 'demo-password' }),
    );
    expect(Date.now() - started).toBeLessThan(30_000);
  } finally {
    process.kill(pid, 'SIGCONT');
    await fresh.$disconnect().catch(() => undefined);
  }
});
