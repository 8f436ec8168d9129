// `npm run test:backup`: backups that restore, on both Temporal stores. For each — `npm start` on the dev server
// (SQLite), and the compiled build on the real Temporal server on Postgres — cases are filed, then decisions keep
// arriving while `npm run backup` runs; everything is destroyed; `npm run restore` brings it back, the system starts,
// `npm run restore -- --reconcile` finds what the older Temporal snapshot lost and sends it again; the cases then
// continue and finish, the audit chain verifies, nothing is moved twice. Last line `N passed, M failed`.
//
//   npm run test:backup [-- --only dev|server] [-- --keep]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client as PgClient } from 'pg';
import { freePortInRange } from '../infra/ports';
import { resolveTemporalCli } from '../infra/temporal';
import type { Manifest } from '../infra/backup';
import { ApiClient } from '../test/support/api-client';
import { CaseDriver, CLOSED, TRANSFER_HZ_TO_NJ } from '../test/support/case-driver';
import { Checks, expectThat } from '../test/support/checks';
import { baseEnv, Service } from '../test/support/processes';
import {
  buildAndStage,
  startApp,
  startDatabases,
  startTemporal,
  type AppDatabases,
  type AppProcesses,
  type TemporalOnPostgres,
} from '../test/support/production-stack';

const ROOT = path.resolve(__dirname, '..');
const TSX = path.join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');
const KEEP = process.argv.includes('--keep');
const ONLY = (() => {
  const i = process.argv.indexOf('--only');
  return i >= 0 ? process.argv[i + 1] : null;
})();
const CASES = 10;
/** Widens the gap between the Temporal and the app-database snapshots so that decisions surely land in it. */
const PAUSE_MS = 3000;
const started = Date.now();
const say = (m: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s] ${m}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SOON = () => new Date(Date.now() + 7 * 86_400_000).toISOString().slice(0, 10);

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** One deployment under test: how to run its commands, start it, stop it and destroy its data. */
interface System {
  label: string;
  url: () => string;
  databaseUrl: () => string;
  /** `npm run backup|restore|audit:verify` of this deployment (source + tsx, or the compiled build + node). */
  command(name: 'backup' | 'restore' | 'audit-verify', args: string[]): Promise<Run>;
  start(first: boolean): Promise<void>;
  stop(): Promise<void>;
  /** Stops everything and deletes every byte of data (not the software, not the operator's secrets). */
  destroy(): Promise<void>;
  /** Where restore writes its report. */
  dataDir: string;
  /** A file in this deployment's settings/: restore must write it back, byte for byte. */
  settingsFile: string;
}

function runAsync(cmd: string, args: string[], opts: { cwd: string; env: Record<string, string> }): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** `npm start`: embedded Postgres, the Temporal dev server on its SQLite file, worker and API in one process. */
async function devSystem(work: string): Promise<System> {
  const dataDir = path.join(work, 'data');
  const [port, pgPort, temporalPort, uiPort] = await Promise.all([
    freePortInRange(10_000, 14_999),
    freePortInRange(15_000, 19_999),
    freePortInRange(20_000, 32_000),
    freePortInRange(20_000, 32_000),
  ]);
  const cli = resolveTemporalCli({ log: say });
  const env: Record<string, string> = {
    ...baseEnv(),
    ...(cli ? { TEMPORAL_CLI_PATH: cli } : {}),
    NODE_ENV: 'development',
    DATA_DIR: dataDir,
    PORT: String(port),
    EMBEDDED_PG_PORT: String(pgPort),
    TEMPORAL_PORT: String(temporalPort),
    TEMPORAL_UI_PORT: String(uiPort),
    LOG_LEVEL: 'warn',
  };
  let service: Service | null = null;
  const sys: System = {
    label: 'dev server (npm start, SQLite)',
    dataDir,
    // The project's own settings/ (destroy leaves it: it is this checkout's); restore rewrites it.
    settingsFile: path.join(ROOT, 'settings', 'reason-codes.json'),
    url: () => `http://127.0.0.1:${port}`,
    databaseUrl: () => `postgresql://postgres:postgres@127.0.0.1:${pgPort}/xueji`,
    command: (name, args) =>
      runAsync(process.execPath, [TSX, path.join('scripts', `${name}.ts`), ...args], { cwd: ROOT, env }),
    async start() {
      service = new Service({
        name: 'npm-start',
        script: 'scripts/start.ts',
        env,
        ready: /学籍异动 is running/,
        readyTimeoutMs: 180_000,
        logFile: path.join(work, 'logs', 'start.log'),
      });
      await service.start();
    },
    async stop() {
      await service?.close();
      service = null;
    },
    async destroy() {
      await sys.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return sys;
}

/** The compiled build on the real Temporal server on Postgres (one worker, one API, nginx). */
async function serverSystem(work: string): Promise<System> {
  const { node, app } = buildAndStage(work, say);
  const pgDir = path.join(work, 'pg');
  const temporalDir = path.join(work, 'temporal');
  const appDir = path.join(work, 'app-data');
  const pgPort = await freePortInRange(15_000, 19_999);
  let dbs: AppDatabases | null = null;
  let temporal: TemporalOnPostgres | null = null;
  let procs: AppProcesses | null = null;
  const env = () => ({
    ...(procs?.env ?? {}),
    ...baseEnv(),
    NODE_ENV: 'production',
    DATABASE_URL: dbs!.appUrl,
    TEMPORAL_ADDRESS: temporal?.server.address ?? '127.0.0.1:1',
    TEMPORAL_DB_URL: `postgresql://${dbs!.temporalDb.user}:${dbs!.temporalDb.password}@127.0.0.1:${pgPort}`,
    DATA_DIR: path.join(appDir, 'data'),
    ATTACHMENTS_DIR: path.join(appDir, 'data', 'attachments'),
    JWT_SECRET: 'x'.repeat(48),
  });
  const sys: System = {
    label: 'Temporal server on Postgres (compiled build)',
    dataDir: path.join(appDir, 'data'),
    // The staged build's settings/ (a copy under the work directory): destroy deletes it, restore brings it back.
    settingsFile: path.join(app, 'settings', 'reason-codes.json'),
    url: () => procs!.url,
    databaseUrl: () => dbs!.appUrl,
    async command(name, args) {
      if (!dbs) dbs = await startDatabases(pgDir, say, pgPort);
      return runAsync(node, [path.join('scripts', `${name}.js`), ...args], { cwd: app, env: env() });
    },
    async start(first) {
      if (!dbs) dbs = await startDatabases(pgDir, say, pgPort);
      temporal = await startTemporal(dbs, temporalDir, say);
      procs = await startApp({
        node,
        app,
        dir: appDir,
        databaseUrl: dbs.appUrl,
        temporalAddress: temporal.server.address,
        workers: 1,
        apis: 1,
        seed: first,
        log: say,
        env: { JWT_SECRET: 'x'.repeat(48) },
      });
    },
    async stop() {
      await procs?.close();
      procs = null;
      await temporal?.server.stop();
      temporal = null;
      await dbs?.pg.stop();
      dbs = null;
    },
    async destroy() {
      await sys.stop();
      for (const d of [pgDir, temporalDir, path.join(appDir, 'data')]) fs.rmSync(d, { recursive: true, force: true });
      fs.rmSync(sys.settingsFile);
    },
  };
  return sys;
}

const PDF = Buffer.concat([Buffer.from('%PDF-1.4\n% 转学证明\n'), Buffer.alloc(2000, 0x20), Buffer.from('\n%%EOF\n')]);

async function scenario(sys: System, work: string, checks: Checks) {
  const tag = (name: string) => `[${sys.label}] ${name}`;
  say(`—— ${sys.label}`);
  await sys.start(true);
  const retry = { deadlineMs: 180_000, requestTimeoutMs: 30_000, baseDelayMs: 200, maxDelayMs: 3000 };
  let api = new ApiClient(sys.url(), retry);
  // A scenario that fails part-way leaves its connection open: Postgres stopping later must not crash the run.
  let db = new PgClient({ connectionString: sys.databaseUrl() });
  db.on('error', () => undefined);
  await db.connect();
  const openCaseOf = async (studentNo: string) =>
    (
      await db.query<{ id: number }>(
        `select id from "Application" where "studentNo" = $1 and status in ('IN_REVIEW','RETURNED') order by id desc limit 1`,
        [studentNo],
      )
    ).rows[0]?.id ?? null;
  let driver = new CaseDriver(api, TRANSFER_HZ_TO_NJ, openCaseOf);
  const attempts = () => api.attempts;
  const earlier: typeof api.attempts = [];
  // Pupils with no history yet (the demo's past moved some), so "moved exactly once" counts this run's moves alone.
  const pupils = (
    await db.query<{ studentNo: string }>(
      `select "studentNo" from "Student" s where "schoolCode" = $1 and status = 'ENROLLED'
          and not exists (select 1 from "StudentHistory" h where h."studentNo" = s."studentNo")
        order by "studentNo" limit $2`,
      [TRANSFER_HZ_TO_NJ.from, CASES],
    )
  ).rows.map((r) => r.studentNo);
  const ids: number[] = [];
  for (const p of pupils) {
    const id = await driver.file(p, SOON());
    await driver.advance(id);
    ids.push(id);
  }
  // Proof attached to the first case (content-addressed under ATTACHMENTS_DIR): must come back with the backup.
  const token = await api.token('nj.s1');
  const form = new FormData();
  form.append('file', new Blob([PDF], { type: 'application/pdf' }), '转学证明.pdf');
  const up = await fetch(`${sys.url()}/api/applications/${ids[0]}/attachments`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
    body: form,
  });
  const attachment = (await up.json()) as { id: number };
  say(`${ids.length} transfers filed and past their first stage, one with proof attached (${up.status})`);

  const settingsBytes = fs.readFileSync(sys.settingsFile);

  // Decisions keep arriving while the backup runs.
  const backupDir = path.join(work, 'backup');
  let loading = true;
  const before = driver.decisions;
  const load = async (lane: number) => {
    let i = lane;
    while (loading) {
      const id = ids[i++ % ids.length];
      await driver.advance(id).catch((e: unknown) => say(`load: ${String(e)}`));
      await sleep(200);
    }
  };
  const lanes = [load(0), load(5)];
  const backup = await sys.command('backup', ['--to', backupDir, '--pause-after-temporal', String(PAUSE_MS)]);
  loading = false;
  await Promise.all(lanes);
  const duringBackup = driver.decisions - before;
  say(`backup finished (${backup.status}); ${duringBackup} decisions were taken while it ran`);

  let manifest: Manifest | null = null;
  await checks.check(tag('npm run backup, with decisions arriving meanwhile'), () => {
    expectThat(backup.status === 0, `exit ${backup.status}: ${backup.stderr || backup.stdout}`);
    expectThat(duringBackup > 0, 'no decision was taken during the backup');
    manifest = JSON.parse(fs.readFileSync(path.join(backupDir, 'manifest.json'), 'utf8')) as Manifest;
    expectThat(
      manifest.files.every((f) => /^[0-9a-f]{64}$/.test(f.sha256)),
      'a file without checksum',
    );
    expectThat(
      Date.parse(manifest.temporal.finishedAt) <= Date.parse(manifest.database.startedAt),
      'Temporal was not saved first',
    );
    const secrets = manifest.files.filter((f) => f.secret).map((f) => f.path);
    if ('file' in manifest.tokenKey)
      expectThat(secrets.includes(manifest.tokenKey.file), 'token key not marked secret');
    return `${manifest.files.length} files, Temporal ${manifest.temporal.kind}, ${duringBackup} decisions during the backup; token key ${'file' in manifest.tokenKey ? 'saved, marked secret' : 'from the environment'}`;
  });
  await checks.check(tag('a damaged backup is refused before anything is touched'), async () => {
    const copy = path.join(work, 'backup-damaged');
    fs.cpSync(backupDir, copy, { recursive: true });
    const f = path.join(copy, 'app.dump');
    const bytes = fs.readFileSync(f);
    bytes[bytes.length >> 1] ^= 0xff;
    fs.writeFileSync(f, bytes);
    const r = await sys.command('restore', ['--from', copy, '--replace']);
    expectThat(r.status !== 0 && /damaged.*app\.dump/.test(r.stderr + r.stdout), `exit ${r.status}: ${r.stderr}`);
    const still = await db.query(`select count(*)::int n from "Application"`);
    expectThat(still.rows[0].n >= ids.length, 'the database was touched');
  });

  await db.end();
  await sys.destroy();
  say('destroyed: every process stopped, every database and data directory deleted');

  const restoreStarted = Date.now();
  const restore = await sys.command('restore', ['--from', backupDir]);
  const reportFile = path.join(sys.dataDir, 'restore-report.json');
  let atRisk: number[] = [];
  await checks.check(
    tag('npm run restore from the backup; what the older Temporal snapshot may lack is listed'),
    () => {
      expectThat(restore.status === 0, `exit ${restore.status}: ${restore.stderr || restore.stdout}`);
      const report = JSON.parse(fs.readFileSync(reportFile, 'utf8')) as { atRisk: { applicationId: number }[] };
      atRisk = report.atRisk.map((c) => c.applicationId);
      expectThat(atRisk.length > 0, 'no case listed, though decisions were taken between the snapshots');
      expectThat(/acted on after the Temporal snapshot/.test(restore.stdout), 'the console does not say so');
      return `${atRisk.length} cases listed`;
    },
  );
  await checks.check(tag(`settings/${path.basename(sys.settingsFile)} is written back, byte for byte`), () => {
    expectThat(fs.existsSync(sys.settingsFile), `${sys.settingsFile} missing`);
    expectThat(fs.readFileSync(sys.settingsFile).equals(settingsBytes), 'bytes differ');
    expectThat(fs.statSync(sys.settingsFile).mtimeMs >= restoreStarted - 1, 'not written by the restore');
  });

  await sys.start(false);
  db = new PgClient({ connectionString: sys.databaseUrl() });
  db.on('error', () => undefined);
  await db.connect();
  // The same people carry on, at the system's (possibly new) address.
  earlier.push(...api.attempts);
  api = new ApiClient(sys.url(), retry);
  driver = new CaseDriver(api, TRANSFER_HZ_TO_NJ, openCaseOf);
  const reconcile = await sys.command('restore', ['--reconcile']);
  const parse = (r: Run) =>
    JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}').reconciled as {
      checked: number;
      inStep: number;
      replayed: { applicationId: number }[];
      restarted: number[];
      needsAdmin: unknown[];
    };
  await checks.check(tag('reconcile: decisions Temporal lost are detected and sent again, nothing left over'), () => {
    expectThat(
      reconcile.status === 0,
      `exit ${reconcile.status}: ${reconcile.stdout.slice(-1500)} ${reconcile.stderr}`,
    );
    const r = parse(reconcile);
    expectThat(r.needsAdmin.length === 0, `for an administrator: ${JSON.stringify(r.needsAdmin)}`);
    expectThat(r.replayed.length > 0, 'no decision needed replaying: the snapshots were not apart');
    expectThat(
      r.replayed.every((x) => atRisk.includes(x.applicationId)),
      'replayed a case restore did not list',
    );
    return `${r.checked} checked, ${r.inStep} in step, ${r.replayed.length} decisions sent again`;
  });
  await checks.check(tag('after reconciling, every workflow agrees with the app database'), async () => {
    const again = await sys.command('restore', ['--reconcile']);
    const r = parse(again);
    expectThat(again.status === 0 && r.replayed.length === 0 && r.needsAdmin.length === 0, JSON.stringify(r));
    expectThat(r.inStep === r.checked, JSON.stringify(r));
  });
  await checks.check(tag('a token issued before the backup still works (same key, its session restored)'), async () => {
    const r = await fetch(`${sys.url()}/api/applications/${ids[0]}`, { headers: { authorization: `Bearer ${token}` } });
    expectThat(r.status === 200, `GET /api/applications/${ids[0]} with the old token: ${r.status}`);
    const key = path.join(backupDir, 'secrets', 'jwt-secret');
    return fs.existsSync(key) ? 'generated key restored from the backup' : 'key from JWT_SECRET';
  });
  await checks.check(tag('the attachment is back, byte for byte'), async () => {
    const t = await api.token('nj.s1');
    const r = await fetch(`${sys.url()}/api/applications/${ids[0]}/attachments/${attachment.id}`, {
      headers: { authorization: `Bearer ${t}` },
    });
    expectThat(r.status === 200, `GET attachment ${r.status}`);
    expectThat(Buffer.from(await r.arrayBuffer()).equals(PDF), 'bytes differ');
  });
  await checks.check(tag('the cases continue and finish: all APPROVED, each pupil moved exactly once'), async () => {
    for (const id of ids) await driver.finish(id);
    const r = await db.query(
      `select a.id, a.status, s."schoolCode", (select count(*)::int from "StudentHistory" h where h."studentNo" = a."studentNo") moves
         from "Application" a join "Student" s using ("studentNo") where a.id = any($1)`,
      [ids],
    );
    const wrong = r.rows.filter(
      (x) => x.status !== 'APPROVED' || x.schoolCode !== TRANSFER_HZ_TO_NJ.to || x.moves !== 1,
    );
    expectThat(wrong.length === 0, JSON.stringify(wrong));
    expectThat(r.rows.length === ids.length, `${r.rows.length} of ${ids.length} cases`);
  });
  await checks.check(tag('no case left open in Temporal'), async () => {
    const r = await sys.command('restore', ['--reconcile']);
    const x = parse(r);
    expectThat(r.status === 0 && x.needsAdmin.length === 0, JSON.stringify(x));
    const open = await db.query(`select count(*)::int n from "Application" where status in ('IN_REVIEW','RETURNED')`);
    expectThat(open.rows[0].n === 0 && CLOSED.length > 0, `${open.rows[0].n} still open`);
  });
  await checks.check(tag('the audit chain verifies after the restore and the rest of the run'), async () => {
    const r = await sys.command('audit-verify', []);
    expectThat(r.status === 0, `${r.status} ${r.stdout} ${r.stderr}`);
    return r.stdout.trim().split('\n')[0];
  });
  await checks.check(tag('no client saw a 5xx other than 503'), () => {
    const bad = [...earlier, ...attempts()].filter(
      (a) => typeof a.status === 'number' && a.status >= 500 && a.status !== 503,
    );
    expectThat(bad.length === 0, bad.map((a) => `${a.route} ${a.status}`).join('; '));
  });
  await db.end();
  await sys.stop();
}

async function main() {
  const checks = new Checks();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'xueji-backup-'));
  fs.chmodSync(work, 0o755);
  say(`work directory ${work}`);
  const systems: System[] = [];
  try {
    for (const kind of ['dev', 'server'] as const) {
      if (ONLY && ONLY !== kind) continue;
      const dir = path.join(work, kind);
      fs.mkdirSync(dir);
      const sys = kind === 'dev' ? await devSystem(dir) : await serverSystem(dir);
      systems.push(sys);
      try {
        await scenario(sys, dir, checks);
      } catch (e) {
        console.error(e);
        checks.skipped(`[${sys.label}] the run itself`, e instanceof Error ? e.message : String(e));
      }
    }
  } finally {
    for (const s of systems) await s.stop().catch(() => undefined);
    if (KEEP) say(`kept ${work}`);
    else fs.rmSync(work, { recursive: true, force: true });
  }
  process.exit(checks.finish());
}

void main();
