// The system under test for the chaos suite, every part a real process that can be crashed and started again:
// an embedded Postgres and the Temporal dev server on a SQLite file (both spawned through infra/), two workers and
// one API as separate Node processes running the production entry points (worker.ts, api/server.ts), and an SMTP
// sink in this process that keeps every message it accepts.
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { createPrisma, type PrismaClient } from '../infra/db';
import { migrateDatabase } from '../infra/migrations';
import { ensureDatabase, startEmbeddedPostgres, type RunningPostgres } from '../infra/postgres';
import { seedDemoData } from '../infra/seed';
import { resolveTemporalCli, startDevServer, type DevServer } from '../infra/temporal';
import { freePort } from '../test/support/ports';
import { baseEnv, Service } from '../test/support/processes';
import { startSmtp } from '../test/support/smtp';

export const TASK_QUEUE = 'xueji-chaos';
/** The dispatchers' lease on a claimed mail: a mail sent but not recorded goes again this long after its claim. */
export const MAIL_LEASE_MS = 60_000;

export interface ChaosStack {
  workDir: string;
  databaseUrl: string;
  temporalAddress: string;
  apiUrl: string;
  /** The harness's own connection, for planning and for the checks at the end (not used while faults run). */
  prisma: PrismaClient;
  smtp: Awaited<ReturnType<typeof startSmtp>>;
  api: Service;
  workers: Service[];
  killPostgres(mode: 'immediate' | 'sigkill'): Promise<void>;
  startPostgres(): Promise<void>;
  killTemporal(): Promise<void>;
  startTemporal(): Promise<void>;
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Tries `start` until it succeeds (a port still held, shared memory still attached …) or `timeoutMs` passes. */
async function retrying<T>(what: string, start: () => Promise<T>, log: (m: string) => void, timeoutMs = 120_000) {
  const until = Date.now() + timeoutMs;
  for (let n = 1; ; n++) {
    try {
      return await start();
    } catch (e) {
      if (Date.now() > until) throw e;
      log(`${what}: start attempt ${n} failed (${(e as Error).message.split('\n')[0].slice(0, 200)}); trying again`);
      await sleep(Math.min(2000, 250 * n));
    }
  }
}

export async function startChaosStack(o: {
  workDir: string;
  pupilsPerSchool: number;
  log: (m: string) => void;
}): Promise<ChaosStack> {
  const { workDir, log } = o;
  const logs = path.join(workDir, 'logs');
  fs.mkdirSync(logs, { recursive: true });
  const closers: (() => Promise<unknown>)[] = [];

  // Postgres: a data directory of its own, on a free port; killed by signal, started again on the same directory.
  const pgDir = path.join(workDir, 'pg');
  const pgPort = await freePort();
  const pgLog = fs.createWriteStream(path.join(logs, 'postgres.log'), { flags: 'a' });
  let pg: RunningPostgres = await startEmbeddedPostgres({
    dataDir: pgDir,
    port: pgPort,
    log: (m) => pgLog.write(`${m}\n`),
  });
  await ensureDatabase(pg.adminUrl, 'xueji');
  const databaseUrl = pg.urlFor('xueji');
  await migrateDatabase(databaseUrl);
  const prisma = createPrisma(databaseUrl, 4);
  await seedDemoData(prisma, { pupilsPerSchool: o.pupilsPerSchool });
  log(`Postgres on ${pgPort} (${pgDir}), migrated and seeded`);

  const postmasterPid = () => {
    try {
      return Number(fs.readFileSync(path.join(pgDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    } catch {
      return null;
    }
  };
  const killPostgres = async (mode: 'immediate' | 'sigkill') => {
    const pid = postmasterPid();
    if (!pid) throw new Error('no postmaster.pid: is Postgres running?');
    // SIGQUIT is Postgres's "immediate shutdown" (what `pg_ctl stop -m immediate` sends): every backend quits at
    // once, no checkpoint, crash recovery at the next start. SIGKILL leaves the backends to notice on their own.
    process.kill(pid, mode === 'immediate' ? 'SIGQUIT' : 'SIGKILL');
    for (let i = 0; alive(pid) && i < 200; i++) await sleep(50);
    pgLog.write(`---- [${new Date().toISOString()}] chaos: postmaster ${pid} stopped (${mode})\n`);
  };
  const startPostgres = async () => {
    pg = await retrying(
      'postgres',
      () => startEmbeddedPostgres({ dataDir: pgDir, port: pgPort, log: (m) => pgLog.write(`${m}\n`) }),
      log,
    );
  };

  let temporal: DevServer | null = null;
  const services: Service[] = [];
  // If this process ends without close() (Ctrl-C, a crash), the servers it started must not outlive it.
  const emergency = () => {
    const pid = postmasterPid();
    try {
      if (pid) process.kill(pid, 'SIGQUIT');
    } catch {
      // already gone
    }
    temporal?.process?.kill('SIGKILL');
  };
  process.on('exit', emergency);
  try {
    return await startTheRest();
  } catch (e) {
    // Half started: take down what did start, then report.
    for (const svc of services) await svc.close().catch(() => undefined);
    await (temporal as DevServer | null)?.stop().catch(() => undefined);
    await pg.stop().catch(() => undefined);
    process.off('exit', emergency);
    throw e;
  }

  async function startTheRest(): Promise<ChaosStack> {
    // Temporal: the dev server on a SQLite file in the work directory, killed with SIGKILL, started on the same file.
    const cli = resolveTemporalCli({ log });
    const temporalPort = await freePort();
    const temporalDb = path.join(workDir, 'temporal.db');
    const temporalLog = fs.createWriteStream(path.join(logs, 'temporal.log'), { flags: 'a' });
    const startDev = () =>
      startDevServer(cli, { port: temporalPort, dbFile: temporalDb, log: (m) => temporalLog.write(`${m}\n`) });
    temporal = await startDev();
    const temporalAddress = temporal.address;
    log(`Temporal dev server on ${temporalAddress} (${temporalDb})`);
    const killTemporal = async () => {
      await temporal?.stop('SIGKILL');
      temporalLog.write(`---- [${new Date().toISOString()}] chaos: Temporal killed\n`);
    };
    const startTemporal = async () => {
      temporal = await retrying('temporal', startDev, log);
    };

    const smtp = await startSmtp();
    log(`SMTP sink on ${smtp.url}`);

    // The API and the workers: the production entry points, configured only through the environment (config.ts).
    const apiPort = await freePort();
    const common = {
      ...baseEnv(),
      NODE_ENV: 'production',
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: temporalAddress,
      TEMPORAL_TASK_QUEUE: TASK_QUEUE,
      SMTP_URL: smtp.url,
      DATA_DIR: path.join(workDir, 'data'),
      JWT_SECRET: randomBytes(32).toString('hex'),
      LOG_LEVEL: 'info',
      // Longer than any outage the suite causes (a Postgres restart takes up to ~25 s here), so a mail sent during
      // one is never sent again; shorter than the grace period, so mail a killed worker had claimed still goes out.
      MAIL_LEASE: `${MAIL_LEASE_MS / 1000}s`,
    };
    const onEvent = (line: string) => log(line);
    const workers = [1, 2].map(
      (n) =>
        new Service({
          name: `worker-${n}`,
          script: 'worker.ts',
          env: common,
          ready: /"msg":"worker started"/,
          readyTimeoutMs: 120_000,
          logFile: path.join(logs, `worker-${n}.log`),
          restartOnCrash: { delayMs: 1000 },
          onEvent,
        }),
    );
    const api = new Service({
      name: 'api',
      script: 'api/server.ts',
      env: {
        ...common,
        PORT: String(apiPort),
        // Every client of the suite comes from 127.0.0.1.
        LOGIN_IP_LIMIT: '100000',
        RECONCILE_INTERVAL_MS: '2000',
        UPDATE_TIMEOUT_MS: '10000',
      },
      ready: /"msg":"API listening"/,
      readyTimeoutMs: 120_000,
      logFile: path.join(logs, 'api.log'),
      restartOnCrash: { delayMs: 1000 },
      onEvent,
    });
    services.push(api, ...workers);
    await Promise.all(services.map((svc) => svc.startUntilReady()));
    log(`API on http://127.0.0.1:${apiPort}, two workers on task queue ${TASK_QUEUE}`);

    closers.push(
      () => api.close(),
      () => Promise.all(workers.map((w) => w.close())),
      () => smtp.close(),
      () => prisma.$disconnect(),
      async () => temporal?.stop(),
      () => pg.stop(),
      () => new Promise((r) => temporalLog.end(r)),
      () => new Promise((r) => pgLog.end(r)),
      async () => process.off('exit', emergency),
    );
    return {
      workDir,
      databaseUrl,
      temporalAddress,
      apiUrl: `http://127.0.0.1:${apiPort}`,
      prisma,
      smtp,
      api,
      workers,
      killPostgres,
      startPostgres,
      killTemporal,
      startTemporal,
      close: async () => {
        for (const c of closers) await c().catch((e: unknown) => log(`close: ${String(e)}`));
      },
    };
  }
}
