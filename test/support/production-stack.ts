// The production topology on one machine, as `npm run test:production` and `npm run test:backup` run it: the
// compiled build (npm run build) staged like the image (production dependencies only) and run by the image's Node
// major; Postgres 15; the real Temporal server on it (persistence and visibility), its schema by temporal-sql-tool;
// the one-shot jobs (migrate, seed, temporal-setup); N workers and N API processes; nginx as the one entry point.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Client as PgClient } from 'pg';
import { startEmbeddedPostgres, type RunningPostgres } from '../../infra/postgres';
import { writeNginxConfig } from '../../infra/nginx';
import { productionNode } from '../../infra/node-runtime';
import { freePortInRange } from '../../infra/ports';
import { ensureCommands } from '../../infra/system-packages';
import {
  buildTemporalServer,
  setupTemporalSchema,
  startTemporalServer,
  temporalServerPorts,
  type RunningTemporalServer,
  type TemporalDb,
  type TemporalServerTools,
} from '../../infra/temporal-server';
import { baseEnv, Service } from './processes';

const ROOT = path.resolve(__dirname, '..', '..');
/** The address nginx connects to the API processes from (proxy_bind): the one hop they trust (TRUST_PROXY). */
export const PROXY_ADDRESS = '127.0.0.2';

export interface StackLog {
  (line: string): void;
}

/** `npm run build` with the production Node first on PATH — the build the Dockerfile runs — then staged like the image. */
export function buildAndStage(work: string, log: StackLog): { node: string; app: string } {
  const { node, binDir } = productionNode(log);
  const env = { ...process.env, PATH: `${binDir}:${process.env.PATH}` };
  log(`npm run build (Node ${spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim()})…`);
  const build = spawnSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, env, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`npm run build failed:\n${build.stdout}\n${build.stderr}`);
  const app = path.join(work, 'app');
  fs.cpSync(path.join(ROOT, 'dist'), app, { recursive: true });
  log('staging the build with production dependencies only (npm ci in a copy of dist/, as the image does)…');
  const ci = spawnSync('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline'], {
    cwd: app,
    env,
    encoding: 'utf8',
  });
  if (ci.status !== 0) throw new Error(`npm ci in the staged build failed:\n${ci.stderr}`);
  return { node, app };
}

/** Development tools that must not be in the image (nor, so, in the staged build). */
export function devToolsPresent(app: string): string[] {
  return ['typescript', 'tsx', 'prisma', 'ts-node', '@swc/jest', 'jest', 'vite'].filter((p) =>
    fs.existsSync(path.join(app, 'node_modules', p)),
  );
}

export interface AppDatabases {
  pg: RunningPostgres;
  port: number;
  /** The app's role and database (as docker-compose.yml: user xueji). */
  appUrl: string;
  temporalDb: TemporalDb;
}

/** Postgres 15 with a role and database for the app and a role for Temporal (which creates its own databases). */
export async function startDatabases(dir: string, log: StackLog, port?: number): Promise<AppDatabases> {
  const pgPort = port ?? (await freePortInRange(15_000, 19_999));
  const fresh = !fs.existsSync(path.join(dir, 'PG_VERSION'));
  const pg = await startEmbeddedPostgres({ dataDir: dir, port: pgPort });
  const appPassword = 'xueji-test-password';
  const temporalPassword = 'temporal-test-password';
  if (fresh) {
    const c = new PgClient({ connectionString: pg.adminUrl });
    await c.connect();
    await c.query(`create role xueji login password '${appPassword}'`);
    await c.query('create database xueji owner xueji');
    await c.query(`create role temporal login createdb password '${temporalPassword}'`);
    await c.end();
    log(`Postgres 15 on 127.0.0.1:${pgPort} (roles xueji, temporal)`);
  }
  return {
    pg,
    port: pgPort,
    appUrl: `postgresql://xueji:${appPassword}@127.0.0.1:${pgPort}/xueji`,
    temporalDb: { host: '127.0.0.1', port: pgPort, user: 'temporal', password: temporalPassword },
  };
}

export interface TemporalOnPostgres {
  tools: TemporalServerTools;
  server: RunningTemporalServer;
  restart(): Promise<void>;
}

/** The real Temporal server on those databases (schema set up on first use), its log under `dir`. */
export async function startTemporal(dbs: AppDatabases, dir: string, log: StackLog): Promise<TemporalOnPostgres> {
  const tools = buildTemporalServer(log);
  setupTemporalSchema(tools, dbs.temporalDb);
  fs.mkdirSync(dir, { recursive: true });
  log('Temporal schema set up by temporal-sql-tool (deploy/temporal/setup-schema.sh, persistence and visibility)');
  const ports = await temporalServerPorts();
  const logFile = fs.createWriteStream(path.join(dir, 'temporal.log'), { flags: 'a' });
  const start = () =>
    startTemporalServer({ tools, db: dbs.temporalDb, ports, dir, log: (l) => logFile.write(`${l}\n`) });
  const handle: TemporalOnPostgres = {
    tools,
    server: await start(),
    async restart() {
      await handle.server.stop();
      handle.server = await start();
    },
  };
  log(`Temporal server ${handle.server.address} (metrics ${handle.server.metricsUrl})`);
  return handle;
}

export interface AppProcesses {
  workers: Service[];
  apis: Service[];
  apiPorts: number[];
  workerMetricsPorts: number[];
  nginx: Service;
  /** The one entry point. */
  url: string;
  /** Runs a one-shot job of the compiled build (`scripts/migrate.js` …) to completion. */
  job(script: string): void;
  env: Record<string, string>;
  close(): Promise<void>;
}

/**
 * The compiled app against that Postgres and Temporal: migrate, seed (demo data on a new database), temporal-setup,
 * then `workers` workers and `apis` API processes under supervision, and nginx in front of the APIs.
 */
export async function startApp(opts: {
  node: string;
  app: string;
  dir: string;
  databaseUrl: string;
  temporalAddress: string;
  workers: number;
  apis: number;
  log: StackLog;
  seed?: boolean;
  env?: Record<string, string>;
}): Promise<AppProcesses> {
  const { node, app, dir, log } = opts;
  fs.mkdirSync(dir, { recursive: true });
  const secretFile = path.join(dir, 'jwt-secret');
  if (!fs.existsSync(secretFile)) fs.writeFileSync(secretFile, randomBytes(32).toString('hex'), { mode: 0o600 });
  const taken = new Set<number>();
  const port = () => freePortInRange(10_000, 14_999, taken);
  const env: Record<string, string> = {
    ...baseEnv(),
    NODE_ENV: 'production',
    DATABASE_URL: opts.databaseUrl,
    TEMPORAL_ADDRESS: opts.temporalAddress,
    JWT_SECRET: fs.readFileSync(secretFile, 'utf8'),
    DATA_DIR: path.join(dir, 'data'),
    ATTACHMENTS_DIR: path.join(dir, 'data', 'attachments'),
    TRUST_PROXY: PROXY_ADDRESS,
    LOG_LEVEL: 'info',
    ...opts.env,
  };
  const job = (script: string) => {
    const r = spawnSync(node, [script], { cwd: app, env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${script} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
    for (const line of r.stdout.trim().split('\n').slice(-3)) if (line.trim()) log(`  ${script}: ${line.trim()}`);
  };
  job('scripts/migrate.js');
  if (opts.seed) job('scripts/seed.js');
  job('scripts/temporal-setup.js');

  const logs = path.join(dir, 'logs');
  const workerMetricsPorts: number[] = [];
  const workers: Service[] = [];
  for (let i = 1; i <= opts.workers; i++) {
    const metrics = await port();
    workerMetricsPorts.push(metrics);
    workers.push(
      new Service({
        name: `worker-${i}`,
        command: node,
        args: ['worker.js'],
        cwd: app,
        env: { ...env, WORKER_METRICS_PORT: String(metrics) },
        ready: /"msg":"worker started"/,
        logFile: path.join(logs, `worker-${i}.log`),
      }),
    );
  }
  const apiPorts: number[] = [];
  const apis: Service[] = [];
  for (let i = 1; i <= opts.apis; i++) {
    const p = await port();
    apiPorts.push(p);
    apis.push(
      new Service({
        name: `api-${i}`,
        command: node,
        args: ['api/server.js'],
        cwd: app,
        env: { ...env, PORT: String(p) },
        ready: /"msg":"API listening"/,
        logFile: path.join(logs, `api-${i}.log`),
      }),
    );
  }
  await Promise.all([...workers, ...apis].map((s) => s.start()));

  const { nginx: nginxBin } = ensureCommands([{ command: 'nginx', aptPackage: 'nginx' }], log);
  const nginxPort = await port();
  const conf = writeNginxConfig({
    nginx: nginxBin,
    dir: path.join(dir, 'nginx'),
    port: nginxPort,
    upstreams: apiPorts.map((p) => `127.0.0.1:${p}`),
    proxyBind: PROXY_ADDRESS,
  });
  const nginx = new Service({
    name: 'nginx',
    command: nginxBin,
    args: conf.args,
    env: baseEnv(),
    ready: /start worker process/,
    logFile: path.join(logs, 'nginx.log'),
  });
  await nginx.start();
  const url = `http://127.0.0.1:${nginxPort}`;
  log(`${opts.workers} workers, ${opts.apis} API processes (ports ${apiPorts.join(', ')}) behind nginx at ${url}`);
  return {
    workers,
    apis,
    apiPorts,
    workerMetricsPorts,
    nginx,
    url,
    job,
    env,
    close: async () => {
      await Promise.all([nginx, ...apis, ...workers].map((s) => s.close().catch(() => undefined)));
    },
  };
}
