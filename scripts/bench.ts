// `npm run bench`: timings on the real stack (embedded Postgres, Temporal dev server in memory, a real
// worker and the HTTP API on loopback). Every figure is measured in the same run, interleaved, and
// reported with ratios to a plain authenticated read, because these machines are shared and noisy.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { Client as PgClient } from 'pg';
import { createActivities } from '../activities';
import { buildApp } from '../api/app';
import { TokenService } from '../api/auth';
import { createPrisma } from '../infra/db';
import { createLogger } from '../infra/logger';
import { createMailer } from '../infra/mailer';
import { DEFAULT_RULES } from '../domain/rules';
import { migrateDatabase } from '../infra/migrations';
import { startEmbeddedPostgres } from '../infra/postgres';
import { seedDemoData } from '../infra/seed';
import { resolveTemporalCli, startDevServer } from '../infra/temporal';
import { createWorker } from '../worker';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 20);
const PARALLEL = Number(process.env.BENCH_PARALLEL ?? 10);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p90 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.9))];

async function main() {
  Runtime.install({ logger: new DefaultLogger('ERROR'), shutdownSignals: [] });
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'xueji-bench-'));
  fs.chmodSync(work, 0o755);
  const port = 55000 + Math.floor(Math.random() * 5000);
  const pg = await startEmbeddedPostgres({ dataDir: path.join(work, 'pg'), port });
  const admin = new PgClient({ connectionString: pg.adminUrl });
  await admin.connect();
  await admin.query('create database bench');
  await admin.end();
  const url = pg.urlFor('bench');
  await migrateDatabase(url);
  const prisma = createPrisma(url, 20);
  await seedDemoData(prisma, { pupilsPerSchool: ROUNDS + PARALLEL + 10 });
  const temporalServer = await startDevServer(resolveTemporalCli(), { port: port + 1 });
  const logger = createLogger('silent');
  const nativeConnection = await NativeConnection.connect({ address: temporalServer.address });
  const taskQueue = 'bench';
  const worker = await createWorker({
    connection: nativeConnection,
    namespace: 'default',
    taskQueue,
    // Mail as .eml files in the scratch directory: the mail a real case sends is part of what is measured.
    activities: createActivities({
      prisma,
      logger,
      mailer: createMailer({ SMTP_URL: undefined, DATA_DIR: work, MAIL_FROM: 'bench <bench@xueji.local>' }),
    }),
  });
  const running = worker.run();
  const connection = await Connection.connect({ address: temporalServer.address });
  const temporal = new Client({ connection });
  const app = buildApp({
    prisma,
    temporal,
    logger,
    rules: DEFAULT_RULES,
    tokens: new TokenService(randomBytes(32).toString('hex'), '1h'),
    config: {
      TEMPORAL_TASK_QUEUE: taskQueue,
      UPDATE_TIMEOUT_MS: 30_000,
      attachmentsDir: path.join(work, 'attachments'),
    },
    // Every bench login comes from 127.0.0.1, PARALLEL × 4 of them at once: above the per-address limit.
    security: { loginIpLimit: 100_000 },
  });
  const server = app.listen(0);
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;

  const call = async (method: string, p: string, token?: string, body?: unknown) => {
    const res = await fetch(base + p, {
      method,
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await res.json()) as any; // eslint-disable-line @typescript-eslint/no-explicit-any
    if (res.status >= 300) throw new Error(`${method} ${p} → ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  const login = async (u: string) =>
    (await call('POST', '/api/auth/login', undefined, { username: u, password: 'demo-password' })).token as string;
  const pupils = (
    await prisma.student.findMany({
      where: { schoolCode: '5203020002', status: 'ENROLLED' },
      orderBy: { studentNo: 'asc' },
    })
  ).map((p) => p.studentNo);

  /** One transfer from login to APPROVED, as the four organisations would do it. */
  async function transfer(studentNo: string) {
    const t0 = performance.now();
    const [njs1, njedu, hhgs2, hhgedu] = await Promise.all(['nj.s1', 'nj.edu', 'hhg.s2', 'hhg.edu'].map(login));
    const tLogin = performance.now();
    const created = await call('POST', '/api/applications', njs1, {
      type: 'TRANSFER',
      studentNo,
      reason: '基准测试',
      effectiveDate: '2026-12-01',
    });
    const decisions: number[] = [];
    for (const [token, stage] of [
      [njs1, 'RECEIVING_SCHOOL'],
      [njedu, 'RECEIVING_COUNTY'],
      [hhgs2, 'SENDING_SCHOOL'],
      [hhgedu, 'SENDING_COUNTY'],
    ]) {
      const d0 = performance.now();
      const r = await call('POST', `/api/applications/${created.id}/decisions`, token, { stage, decision: 'APPROVE' });
      decisions.push(performance.now() - d0);
      if (stage === 'SENDING_COUNTY' && r.status !== 'APPROVED') throw new Error('not approved');
    }
    return { total: performance.now() - t0, login: tLogin - t0, decisions };
  }

  const token = await login('nj.s1');
  const reads: number[] = [];
  const totals: number[] = [];
  const logins: number[] = [];
  const decisions: number[] = [];
  await transfer(pupils.pop()!); // warm-up
  for (let i = 0; i < ROUNDS; i++) {
    // Interleave a plain read with each transfer so both see the same machine load.
    for (let j = 0; j < 5; j++) {
      const r0 = performance.now();
      await call('GET', '/api/tasks', token);
      reads.push(performance.now() - r0);
    }
    const t = await transfer(pupils.pop()!);
    totals.push(t.total);
    logins.push(t.login);
    decisions.push(...t.decisions);
  }
  const p0 = performance.now();
  await Promise.all(Array.from({ length: PARALLEL }, () => transfer(pupils.pop()!)));
  const parallelWall = performance.now() - p0;

  const read = median(reads);
  const rows = [
    ['GET /api/tasks (plain read)', median(reads), p90(reads)],
    ['login ×4 (argon2id verify, in parallel)', median(logins), p90(logins)],
    ['decision (HTTP → Temporal Update → DB)', median(decisions), p90(decisions)],
    ['one transfer, login to APPROVED', median(totals), p90(totals)],
  ] as const;
  console.log(
    `\nbench: ${ROUNDS} sequential transfers (+1 warm-up), then ${PARALLEL} in parallel; ${os.cpus().length} cores`,
  );
  console.log('| what | median ms | p90 ms | median ÷ plain read |');
  console.log('|---|---:|---:|---:|');
  for (const [name, m, p] of rows)
    console.log(`| ${name} | ${m.toFixed(1)} | ${p.toFixed(1)} | ${(m / read).toFixed(1)}× |`);
  console.log(
    `| ${PARALLEL} transfers in parallel, wall | ${parallelWall.toFixed(0)} | | ${(parallelWall / median(totals)).toFixed(2)}× one transfer |`,
  );

  server.close();
  worker.shutdown();
  await running;
  await nativeConnection.close();
  await connection.close();
  await prisma.$disconnect();
  await temporalServer.stop();
  await pg.stop();
  fs.rmSync(work, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
