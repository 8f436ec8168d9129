// Backups that restore: Temporal first, then the app database, then attachments, settings and the token key, with a
// manifest of checksums. Temporal's store is the dev server's SQLite file (`sqlite3 .backup`, consistent while the
// server runs) or the Temporal server's two Postgres databases (pg_dump); the app database is pg_dump'ed. The two
// snapshots are not taken at one instant: Temporal's is older, so the app database may hold actions Temporal has not
// seen. Restore lists them from the audit trail (what happened after the Temporal snapshot began), and
// infra/restore-reconcile.ts brings the workflows up to the app database once the system runs again.
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Client as PgClient } from 'pg';
import { PROJECT_ROOT, SETTINGS_FILE_KEYS, type Config } from '../config';
import { ensureCommands } from './system-packages';

export const MANIFEST = 'manifest.json';
export const RESTORE_REPORT = 'restore-report.json';

export interface ManifestFile {
  /** Relative to the backup directory. */
  path: string;
  bytes: number;
  sha256: string;
  /** Holds a secret (the token key): keep the backup where secrets are kept. */
  secret?: boolean;
}

export interface Manifest {
  format: 1;
  createdAt: string;
  app: { version: string };
  temporal:
    | { kind: 'dev-sqlite'; file: string; startedAt: string; finishedAt: string }
    | { kind: 'postgres'; databases: string[]; startedAt: string; finishedAt: string };
  database: { file: string; startedAt: string; finishedAt: string; postgresMajor: number };
  attachments: { dir: string; count: number };
  /** Settings files, each with where it was found (relative to the project when inside it). */
  settings: { file: string; source: string }[];
  tokenKey: { file: string } | { fromEnvironment: true };
  files: ManifestFile[];
}

type Log = (m: string) => void;

function tools() {
  return ensureCommands([
    { command: 'pg_dump', aptPackage: 'postgresql-client' },
    { command: 'pg_restore', aptPackage: 'postgresql-client' },
    { command: 'psql', aptPackage: 'postgresql-client' },
    { command: 'sqlite3', aptPackage: 'sqlite3' },
  ]);
}

/** A Prisma connection string as libpq takes it (Prisma's own parameters removed). */
export function libpqUrl(url: string, database?: string): string {
  const u = new URL(url);
  for (const p of ['schema', 'connection_limit', 'pool_timeout', 'socket_timeout', 'pgbouncer'])
    u.searchParams.delete(p);
  if (database) u.pathname = `/${database}`;
  return u.toString();
}

function run(cmd: string, args: string[], what: string): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, PGCONNECT_TIMEOUT: '10' } });
  if (r.status !== 0) throw new Error(`${what} failed (${r.status}): ${(r.stderr || r.stdout).trim().slice(-2000)}`);
}

function sha256(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

function walk(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

/** Everything under settings/, and each settings file config names (SETTINGS_FILE_KEYS) wherever it is. */
function settingsFiles(config: Config): string[] {
  const own = walk(path.join(PROJECT_ROOT, 'settings'));
  const named = SETTINGS_FILE_KEYS.map((k) => config[k]).filter((f): f is string => !!f && fs.existsSync(f));
  return [...new Set([...own, ...named.map((f) => path.resolve(f))])];
}

const attachmentsDir = (config: Config) => config.ATTACHMENTS_DIR ?? path.join(config.DATA_DIR, 'attachments');
const sqliteFile = (config: Config) => path.join(config.DATA_DIR, 'temporal.db');
const tokenKeyFile = (config: Config) => path.join(config.DATA_DIR, 'jwt-secret');

async function postgresMajor(url: string): Promise<number> {
  const c = new PgClient({ connectionString: libpqUrl(url) });
  await c.connect();
  try {
    return Number((await c.query('show server_version_num')).rows[0].server_version_num.slice(0, 2));
  } finally {
    await c.end();
  }
}

/**
 * Takes a backup into `to` (new or empty). `databaseUrl` is the app database (for `npm start`'s embedded Postgres,
 * the caller starts it and passes its URL). Temporal: the dev server's SQLite file under DATA_DIR when TEMPORAL_ADDRESS
 * is unset, else the databases `temporal` and `temporal_visibility` on TEMPORAL_DB_URL's server.
 */
export async function takeBackup(
  config: Config,
  opts: { to: string; databaseUrl: string; log: Log; pauseAfterTemporalMs?: number },
): Promise<Manifest> {
  const bin = tools();
  const to = path.resolve(opts.to);
  if (fs.existsSync(to) && fs.readdirSync(to).length > 0) throw new Error(`${to} is not empty`);
  fs.mkdirSync(to, { recursive: true, mode: 0o700 });
  fs.chmodSync(to, 0o700);
  const log = opts.log;

  // 1. Temporal first: whatever happens after its snapshot is in the (newer) app database and can be reconciled.
  let temporal: Manifest['temporal'];
  const tStarted = new Date().toISOString();
  if (!config.TEMPORAL_ADDRESS) {
    const src = sqliteFile(config);
    if (!fs.existsSync(src)) throw new Error(`no Temporal dev server database at ${src}`);
    fs.mkdirSync(path.join(to, 'temporal'));
    // The online backup API: a consistent copy while the dev server keeps writing (WAL).
    run(
      bin.sqlite3,
      [src, `.backup '${path.join(to, 'temporal', 'temporal.db').replace(/'/g, "''")}'`],
      'sqlite3 .backup',
    );
    temporal = {
      kind: 'dev-sqlite',
      file: 'temporal/temporal.db',
      startedAt: tStarted,
      finishedAt: new Date().toISOString(),
    };
  } else {
    if (!config.TEMPORAL_DB_URL) {
      throw new Error(
        'TEMPORAL_DB_URL 未设置：备份需要 Temporal 的数据库 (set it to the Temporal Postgres server, e.g. postgresql://temporal:…@host:5432)',
      );
    }
    fs.mkdirSync(path.join(to, 'temporal'));
    const databases = ['temporal', 'temporal_visibility'];
    for (const db of databases) {
      run(
        bin.pg_dump,
        ['-Fc', '-f', path.join(to, 'temporal', `${db}.dump`), libpqUrl(config.TEMPORAL_DB_URL, db)],
        `pg_dump ${db}`,
      );
    }
    temporal = { kind: 'postgres', databases, startedAt: tStarted, finishedAt: new Date().toISOString() };
  }
  log(`Temporal (${temporal.kind}) saved`);
  if (opts.pauseAfterTemporalMs) await new Promise((r) => setTimeout(r, opts.pauseAfterTemporalMs));

  // 2. The app database: one consistent snapshot (pg_dump's), taken after Temporal's.
  const dStarted = new Date().toISOString();
  run(bin.pg_dump, ['-Fc', '-f', path.join(to, 'app.dump'), libpqUrl(opts.databaseUrl)], 'pg_dump of the app database');
  const database = {
    file: 'app.dump',
    startedAt: dStarted,
    finishedAt: new Date().toISOString(),
    postgresMajor: await postgresMajor(opts.databaseUrl),
  };
  log('app database saved');

  // 3. Attachments (content-addressed files: copying them after the database only adds unreferenced ones).
  const att = attachmentsDir(config);
  const attFiles = walk(att);
  if (attFiles.length) fs.cpSync(att, path.join(to, 'attachments'), { recursive: true });

  // 4. Settings and 5. the token key.
  const settings = settingsFiles(config).map((src, i) => {
    const rel = path.relative(PROJECT_ROOT, src);
    const inside = !rel.startsWith('..') && !path.isAbsolute(rel);
    const file = path.join(
      'settings',
      inside ? path.relative('settings', rel).replace(/^(\.\.\/)+/, '') : `external-${i}-${path.basename(src)}`,
    );
    fs.mkdirSync(path.dirname(path.join(to, file)), { recursive: true });
    fs.copyFileSync(src, path.join(to, file));
    return { file, source: inside ? rel : src };
  });
  let tokenKey: Manifest['tokenKey'] = { fromEnvironment: true };
  if (!config.JWT_SECRET && fs.existsSync(tokenKeyFile(config))) {
    fs.mkdirSync(path.join(to, 'secrets'), { mode: 0o700 });
    fs.copyFileSync(tokenKeyFile(config), path.join(to, 'secrets', 'jwt-secret'));
    fs.chmodSync(path.join(to, 'secrets', 'jwt-secret'), 0o600);
    tokenKey = { file: 'secrets/jwt-secret' };
  }

  const files: ManifestFile[] = walk(to).map((f) => {
    const rel = path.relative(to, f);
    return {
      path: rel,
      bytes: fs.statSync(f).size,
      sha256: sha256(f),
      ...(rel.startsWith('secrets/') ? { secret: true } : {}),
    };
  });
  const version = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')).version as string;
  const manifest: Manifest = {
    format: 1,
    createdAt: new Date().toISOString(),
    app: { version },
    temporal,
    database,
    attachments: { dir: 'attachments', count: attFiles.length },
    settings,
    tokenKey,
    files,
  };
  fs.writeFileSync(path.join(to, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
  return manifest;
}

/** Reads the manifest and checks every file against its checksum; a missing or altered file stops the restore. */
export function verifyBackup(from: string): Manifest {
  const file = path.join(from, MANIFEST);
  if (!fs.existsSync(file)) throw new Error(`${file} missing: not a backup directory`);
  const manifest = JSON.parse(fs.readFileSync(file, 'utf8')) as Manifest;
  if (manifest.format !== 1) throw new Error(`unknown backup format ${String(manifest.format)}`);
  const bad = manifest.files.filter((f) => {
    const p = path.join(from, f.path);
    return !fs.existsSync(p) || fs.statSync(p).size !== f.bytes || sha256(p) !== f.sha256;
  });
  if (bad.length) throw new Error(`backup damaged — missing or altered: ${bad.map((f) => f.path).join(', ')}`);
  return manifest;
}

/**
 * Drops and recreates `database` on the server of `url` (connected through its `postgres` database), when the role
 * may create databases; returns false (and touches nothing) when it may not.
 */
async function recreateDatabase(url: string, database: string, owner: string): Promise<boolean> {
  const c = new PgClient({ connectionString: libpqUrl(url, 'postgres') });
  await c.connect();
  try {
    const may = await c.query(`select rolcreatedb or rolsuper as may from pg_roles where rolname = current_user`);
    if (!may.rows[0]?.may) return false;
    const q = (s: string) => `"${s.replace(/"/g, '""')}"`;
    await c.query(`drop database if exists ${q(database)} with (force)`);
    await c.query(`create database ${q(database)} owner ${q(owner)}`);
    return true;
  } finally {
    await c.end();
  }
}

/** True when the database exists and holds tables of its own (a restore over it needs --replace). */
async function hasTables(url: string): Promise<boolean> {
  const c = new PgClient({ connectionString: libpqUrl(url) });
  try {
    await c.connect();
  } catch {
    return false;
  }
  try {
    const r = await c.query(`select count(*)::int n from pg_tables where schemaname = 'public'`);
    return r.rows[0].n > 0;
  } finally {
    await c.end();
  }
}

/**
 * Restores a verified backup: Temporal (SQLite file, or both databases recreated and pg_restore'd), the app database
 * (recreated, pg_restore'd), attachments, settings, the token key. Refuses to overwrite a database that has tables
 * unless `replace`. Everything must be stopped meanwhile (the API, the workers, Temporal).
 */
export async function restoreBackup(
  config: Config,
  opts: { from: string; databaseUrl: string; log: Log; replace?: boolean },
): Promise<Manifest> {
  const bin = tools();
  const from = path.resolve(opts.from);
  const m = verifyBackup(from);
  const log = opts.log;
  log(`backup of ${m.createdAt}: checksums of ${m.files.length} files verified`);

  if (!opts.replace && (await hasTables(opts.databaseUrl))) {
    throw new Error('the app database is not empty: stop the system and pass --replace to overwrite it');
  }
  if (m.temporal.kind === 'dev-sqlite') {
    if (config.TEMPORAL_ADDRESS)
      throw new Error("this backup holds the dev server's Temporal data; unset TEMPORAL_ADDRESS");
    const dest = sqliteFile(config);
    if (fs.existsSync(dest) && !opts.replace) throw new Error(`${dest} exists: pass --replace to overwrite it`);
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    for (const f of [dest, `${dest}-wal`, `${dest}-shm`]) fs.rmSync(f, { force: true });
    fs.copyFileSync(path.join(from, m.temporal.file), dest);
  } else {
    if (!config.TEMPORAL_DB_URL) throw new Error('TEMPORAL_DB_URL 未设置：恢复 Temporal 的数据库需要它');
    const owner = decodeURIComponent(new URL(config.TEMPORAL_DB_URL).username);
    for (const db of m.temporal.databases) {
      if (!(await recreateDatabase(config.TEMPORAL_DB_URL, db, owner))) {
        throw new Error(`the role of TEMPORAL_DB_URL may not create databases: ${db} cannot be restored`);
      }
      run(
        bin.pg_restore,
        [
          '--no-owner',
          '--exit-on-error',
          '-d',
          libpqUrl(config.TEMPORAL_DB_URL, db),
          path.join(from, 'temporal', `${db}.dump`),
        ],
        `pg_restore ${db}`,
      );
    }
  }
  log(`Temporal (${m.temporal.kind}) restored`);

  const app = new URL(libpqUrl(opts.databaseUrl));
  const appDb = decodeURIComponent(app.pathname.slice(1));
  if (!(await recreateDatabase(opts.databaseUrl, appDb, decodeURIComponent(app.username)))) {
    // A role that may not create databases restores into the (empty) database it was given.
    log(`restoring into the existing database ${appDb} (this role may not create databases)`);
  }
  run(
    bin.pg_restore,
    [
      '--no-owner',
      '--clean',
      '--if-exists',
      '--exit-on-error',
      '-d',
      libpqUrl(opts.databaseUrl),
      path.join(from, m.database.file),
    ],
    'pg_restore of the app database',
  );
  log('app database restored');

  if (m.attachments.count > 0)
    fs.cpSync(path.join(from, m.attachments.dir), attachmentsDir(config), { recursive: true });
  for (const s of m.settings) {
    const dest = path.isAbsolute(s.source) ? s.source : path.join(PROJECT_ROOT, s.source);
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.copyFileSync(path.join(from, s.file), dest);
  }
  if ('file' in m.tokenKey) {
    fs.mkdirSync(config.DATA_DIR, { recursive: true });
    fs.copyFileSync(path.join(from, m.tokenKey.file), tokenKeyFile(config));
    fs.chmodSync(tokenKeyFile(config), 0o600);
  }
  log(
    `attachments (${m.attachments.count}), settings (${m.settings.length}) and the token key ${'file' in m.tokenKey ? 'restored' : '(from the environment: JWT_SECRET)'}`,
  );
  return m;
}
