// The bench's stack: Postgres (embedded, or DATABASE_URL's server), the Temporal dev server on a file (or
// TEMPORAL_ADDRESS), an SMTP sink, the app as `npm start` runs it, and the bare chain's worker — each a process of
// its own, so CPU and memory are read per process.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { SMTPServer } from 'smtp-server';
import { Client as PgClient } from 'pg';
import { startEmbeddedPostgres } from '../../infra/postgres';
import { resolveTemporalCli, startDevServer } from '../../infra/temporal';
import { freePort } from '../../test/support/ports';
import { postmasterPid } from './proc';

const ROOT = path.resolve(__dirname, '..', '..');

export interface Postgres {
  adminUrl: string;
  urlFor(db: string): string;
  /** The postmaster, when it runs here (embedded): its tree's CPU is counted. */
  pid: number | null;
  stop(): Promise<void>;
}

export async function startPostgres(work: string, log: (m: string) => void): Promise<Postgres> {
  const external = process.env.DATABASE_URL;
  if (external) {
    const u = new URL(external);
    const urlFor = (db: string) => {
      const v = new URL(external);
      v.pathname = `/${db}`;
      return v.toString();
    };
    log(`Postgres: DATABASE_URL's server (${u.host}); its CPU is not counted`);
    return { adminUrl: external, urlFor, pid: null, stop: async () => undefined };
  }
  const dataDir = path.join(work, 'pg');
  const pg = await startEmbeddedPostgres({
    dataDir,
    port: await freePort(),
    settings: { shared_preload_libraries: 'pg_stat_statements', 'pg_stat_statements.track': 'all' },
  });
  return { ...pg, pid: postmasterPid(dataDir) };
}

export async function createDatabase(adminUrl: string, name: string): Promise<void> {
  const c = new PgClient({ connectionString: adminUrl });
  await c.connect();
  try {
    await c.query(`drop database if exists ${name} with (force)`);
    await c.query(`create database ${name}`);
  } finally {
    await c.end();
  }
}

/** One query on a short-lived connection (to the admin database, so it adds no commit to the measured ones). */
export async function query<T extends Record<string, unknown>>(url: string, sql: string, params: unknown[] = []) {
  const c = new PgClient({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(sql, params)).rows;
  } finally {
    await c.end();
  }
}

export interface Temporal {
  address: string;
  pid: number | null;
  stop(): Promise<void>;
}

export async function startTemporal(work: string, log: (m: string) => void): Promise<Temporal> {
  if (process.env.TEMPORAL_ADDRESS) {
    log(`Temporal: TEMPORAL_ADDRESS (${process.env.TEMPORAL_ADDRESS}); its CPU is not counted`);
    return { address: process.env.TEMPORAL_ADDRESS, pid: null, stop: async () => undefined };
  }
  // As `npm start` runs it: a SQLite file with WAL and synchronous=NORMAL.
  const dev = await startDevServer(resolveTemporalCli({ log }), {
    port: await freePort(),
    dbFile: path.join(work, 'temporal.db'),
  });
  return { address: dev.address, pid: dev.process?.pid ?? null, stop: () => dev.stop() };
}

/** An SMTP server that accepts everything and counts it (mail stays on in every figure). */
export async function startSmtpSink() {
  let received = 0;
  const messageIds = new Map<string, number>();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, callback) {
      let head = '';
      stream.on('data', (c: Buffer) => {
        if (head.length < 4096) head += c.toString('latin1');
      });
      stream.on('end', () => {
        received += 1;
        const id = /^message-id:\s*(\S+)/im.exec(head)?.[1] ?? '?';
        messageIds.set(id, (messageIds.get(id) ?? 0) + 1);
        callback();
      });
    },
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  server.on('error', () => undefined); // a client's reset connection, as a real server would shrug it off
  return {
    url: `smtp://127.0.0.1:${port}`,
    count: () => received,
    duplicates: () => [...messageIds.values()].filter((n) => n > 1).length,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface Proc {
  child: ChildProcess;
  pid: number;
  stop(): Promise<void>;
}

// BENCH_CPU_PROF=DIR: a V8 CPU profile of the process, written when it stops (scripts/bench/profile-summary.ts).
const PROF = process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : [];

/** Runs a TypeScript entry point with tsx's loader in one process (no wrapper), its output to a log file. */
export function spawnTs(
  entry: string,
  env: Record<string, string>,
  logFile: string,
  ready: (line: string) => boolean,
): Promise<Proc> {
  return spawnLogged(process.execPath, [...PROF, '--import', 'tsx', path.join(ROOT, entry)], env, logFile, ready);
}

/**
 * The app exactly as `npm start` runs it after its bootstrap: scripts/start.sh, with its memory settings, which
 * `exec`s node — so the pid is the app's own process (its one child is tsx's esbuild helper).
 */
export function spawnStart(env: Record<string, string>, logFile: string, ready: (line: string) => boolean) {
  // NODE_OPTIONS refuses --cpu-prof: start.sh passes XUEJI_NODE_ARGS to node itself.
  const prof: Record<string, string> = PROF.length ? { XUEJI_NODE_ARGS: PROF.join(' ') } : {};
  return spawnLogged('sh', [path.join(ROOT, 'scripts', 'start.sh')], { ...env, ...prof }, logFile, ready);
}

async function spawnLogged(
  command: string,
  args: string[],
  env: Record<string, string>,
  logFile: string,
  ready: (line: string) => boolean,
): Promise<Proc> {
  const out = fs.openSync(logFile, 'a');
  const entry = args[args.length - 1];
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer) => {
      fs.writeSync(out, d);
      if (d.toString().split('\n').some(ready)) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${entry} exited (${code}) before it was ready; see ${logFile}`)));
  });
  // Keep draining its output once it is up.
  child.stdout!.removeAllListeners('data');
  child.stderr!.removeAllListeners('data');
  child.stdout!.on('data', (d: Buffer) => fs.writeSync(out, d));
  child.stderr!.on('data', (d: Buffer) => fs.writeSync(out, d));
  return {
    child,
    pid: child.pid!,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const kill = setTimeout(() => child.kill('SIGKILL'), 20_000);
        child.once('exit', () => {
          clearTimeout(kill);
          fs.closeSync(out);
          resolve();
        });
        child.kill('SIGINT');
      }),
  };
}
