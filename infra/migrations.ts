// Applies prisma/migrations to a database. Where a real Prisma schema engine exists, `prisma migrate deploy` does it;
// otherwise (machines that cannot download the engine) a small runner does the same work and records it in
// `_prisma_migrations` exactly as Prisma does, so that either tool can take over from the other at any time.

import { spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';

/** The key Prisma's schema engine locks with (`pg_advisory_lock(72707369)`) while it migrates a Postgres database. */
export const PRISMA_ADVISORY_LOCK_KEY = 72707369;

/** Prisma's own DDL for its bookkeeping table (prisma-engines, postgres connector `create_migrations_table`). */
const CREATE_MIGRATIONS_TABLE = `CREATE TABLE _prisma_migrations (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             TIMESTAMPTZ,
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          TIMESTAMPTZ,
    started_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    applied_steps_count     INTEGER NOT NULL DEFAULT 0
);`;

export interface LocalMigration {
  /** Directory name, e.g. `20261122000000_init`. */
  name: string;
  /** Contents of its migration.sql. */
  script: string;
  /** Prisma's checksum of the script: sha256 of its bytes, lowercase hex. */
  checksum: string;
}

/** The directory containing package.json, found upwards from this file. */
export function projectRoot(): string {
  let dir = __dirname;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${__dirname}`);
    dir = parent;
  }
}

export function migrationsDirectory(root: string = projectRoot()): string {
  return path.join(root, 'prisma', 'migrations');
}

/** sha256 hex of the script, as Prisma stores it in `_prisma_migrations.checksum`. */
export function prismaChecksum(script: string | Buffer): string {
  return createHash('sha256').update(script).digest('hex');
}

/**
 * Prisma's comparison (prisma-engines `script_matches_checksum`): line endings do not count (a checkout may turn LF
 * into CRLF), and very old Prisma versions stored the hex without zero padding.
 */
export function checksumMatches(script: string, checksum: string): boolean {
  const variants = [script, script.replace(/\r\n/g, '\n'), script.replace(/\n/g, '\r\n')];
  return variants.some((variant) => {
    const digest = createHash('sha256').update(variant).digest();
    const rendered =
      checksum.length !== 0 && checksum.length !== 64
        ? Array.from(digest, (byte) => byte.toString(16)).join('')
        : digest.toString('hex');
    return rendered === checksum;
  });
}

/** The migrations on disk, in the order Prisma applies them (directory name). */
export function readMigrations(dir: string = migrationsDirectory()): LocalMigration[] {
  if (!fs.existsSync(dir)) return [];
  const lockFile = path.join(dir, 'migration_lock.toml');
  if (fs.existsSync(lockFile)) {
    const provider = /^\s*provider\s*=\s*"([^"]*)"/m.exec(fs.readFileSync(lockFile, 'utf8'))?.[1];
    if (provider !== undefined && provider !== 'postgresql') {
      throw new Error(`${lockFile} is for provider "${provider}", not "postgresql" (Prisma error P3019)`);
    }
  }
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort()
    .map((name) => {
      const file = path.join(dir, name, 'migration.sql');
      if (!fs.existsSync(file)) throw new Error(`migration ${name} has no migration.sql (${file})`);
      const bytes = fs.readFileSync(file);
      return { name, script: bytes.toString('utf8'), checksum: prismaChecksum(bytes) };
    });
}

interface AppliedRow {
  id: string;
  checksum: string;
  finished_at: Date | null;
  migration_name: string;
  logs: string | null;
  rolled_back_at: Date | null;
}

/** A pg client for a Prisma-style URL: `?schema=name` becomes the search_path, as it does for Prisma. */
async function connect(databaseUrl: string): Promise<Client> {
  const url = new URL(databaseUrl);
  const schema = url.searchParams.get('schema');
  url.searchParams.delete('schema');
  const client = new Client({ connectionString: url.toString() });
  await client.connect();
  try {
    if (schema && schema !== 'public') {
      const ident = `"${schema.replace(/"/g, '""')}"`;
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${ident}`);
      await client.query(`SET search_path TO ${ident}`);
    }
  } catch (err) {
    await client.end().catch(() => undefined);
    throw err;
  }
  return client;
}

async function migrationsTableExists(client: Client): Promise<boolean> {
  const { rows } = await client.query<{ oid: string | null }>(`SELECT to_regclass('_prisma_migrations') AS oid`);
  return rows[0].oid !== null;
}

function errorText(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' ? `Database error code: ${code}\n\nDatabase error:\n${err.message}` : err.message;
  }
  return String(err);
}

/**
 * The built-in runner. Under Prisma's advisory lock it creates `_prisma_migrations` (Prisma's DDL) if missing, refuses
 * to go on if a recorded migration failed or an applied one was edited, then applies every pending migration in
 * directory-name order, each in its own transaction together with its `_prisma_migrations` row. A failing migration
 * is rolled back and recorded as failed (finished_at null, with logs), as Prisma records it. Returns the names applied.
 */
export async function runMigrations(
  databaseUrl: string,
  opts: { migrationsDir?: string; log?: (msg: string) => void } = {},
): Promise<string[]> {
  const log = opts.log ?? (() => undefined);
  const local = readMigrations(opts.migrationsDir ?? migrationsDirectory());
  const client = await connect(databaseUrl);
  let locked = false;
  try {
    await client.query('SELECT pg_advisory_lock($1)', [PRISMA_ADVISORY_LOCK_KEY]);
    locked = true;

    if (!(await migrationsTableExists(client))) {
      // Prisma's P3005: a schema that already holds objects but no migration history needs baselining first.
      const { rows } = await client.query<{ n: number }>(
        `SELECT ((SELECT count(*) FROM pg_class WHERE relnamespace = current_schema()::text::regnamespace
                    AND relkind IN ('r', 'p', 'v', 'm', 'S', 'f'))
               + (SELECT count(*) FROM pg_type WHERE typnamespace = current_schema()::text::regnamespace
                    AND typtype IN ('e', 'd')))::int AS n`,
      );
      if (rows[0].n > 0) {
        throw new Error(
          'The database schema is not empty but has no _prisma_migrations table (Prisma error P3005). ' +
            'Baseline it first: https://pris.ly/d/migrate-baseline',
        );
      }
      await client.query(CREATE_MIGRATIONS_TABLE);
      log('created _prisma_migrations');
    }

    const { rows } = await client.query<AppliedRow>(
      `SELECT id, checksum, finished_at, migration_name, logs, rolled_back_at
         FROM _prisma_migrations ORDER BY started_at, migration_name`,
    );

    const failed = rows.filter((row) => row.finished_at === null && row.rolled_back_at === null);
    if (failed.length > 0) {
      const names = failed.map((row) => row.migration_name).join(', ');
      throw new Error(
        `Migration ${names} failed earlier and is still recorded as failed in _prisma_migrations ` +
          `(Prisma error P3009); new migrations will not be applied. Repair the database, then mark it with ` +
          `\`prisma migrate resolve --rolled-back <name>\` (or --applied).\n` +
          failed.map((row) => row.logs ?? '').join('\n'),
      );
    }

    const applied = rows.filter((row) => row.finished_at !== null && row.rolled_back_at === null);
    const appliedByName = new Map(applied.map((row) => [row.migration_name, row]));
    const edited = local.filter((m) => {
      const row = appliedByName.get(m.name);
      return row !== undefined && !checksumMatches(m.script, row.checksum);
    });
    if (edited.length > 0) {
      throw new Error(
        `Migration(s) ${edited.map((m) => m.name).join(', ')} were edited after they were applied to this database ` +
          `(checksum in _prisma_migrations differs from migration.sql). Restore the applied version and put the ` +
          `change in a new migration.`,
      );
    }
    const localNames = new Set(local.map((m) => m.name));
    for (const row of applied) {
      if (!localNames.has(row.migration_name)) {
        log(`warning: ${row.migration_name} is applied to the database but missing from the migrations directory`);
      }
    }

    const done: string[] = [];
    for (const migration of local.filter((m) => !appliedByName.has(m.name))) {
      const id = randomUUID();
      const startedAt = new Date();
      log(`applying ${migration.name}`);
      try {
        await client.query('BEGIN');
        await client.query(
          `INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at, applied_steps_count)
           VALUES ($1, $2, $3, $4, 0)`,
          [id, migration.checksum, migration.name, startedAt],
        );
        await client.query(migration.script);
        await client.query(
          `UPDATE _prisma_migrations SET finished_at = clock_timestamp(), applied_steps_count = applied_steps_count + 1
            WHERE id = $1`,
          [id],
        );
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        const logs = `Migration name: ${migration.name}\n\n${errorText(err)}`;
        await client.query(
          `INSERT INTO _prisma_migrations (id, checksum, migration_name, logs, started_at, applied_steps_count)
           VALUES ($1, $2, $3, $4, $5, 0)`,
          [id, migration.checksum, migration.name, logs, startedAt],
        );
        throw new Error(`Migration ${migration.name} failed and was rolled back (Prisma error P3018).\n${logs}`, {
          cause: err,
        });
      }
      done.push(migration.name);
    }
    log(done.length > 0 ? `applied ${done.length} migration(s)` : 'database is up to date');
    return done;
  } finally {
    if (locked) await client.query('SELECT pg_advisory_unlock($1)', [PRISMA_ADVISORY_LOCK_KEY]).catch(() => undefined);
    await client.end().catch(() => undefined);
  }
}

function isExecutable(file: string): boolean {
  try {
    if (!fs.statSync(file).isFile()) return false;
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The path of a real Prisma schema engine, or null. `PRISMA_SCHEMA_ENGINE_BINARY` counts unless it is a stand-in such
 * as /bin/false (set on machines without the engine so that `prisma generate` does not try to download it).
 */
export function findSchemaEngine(root: string = projectRoot()): string | null {
  const fromEnv = process.env.PRISMA_SCHEMA_ENGINE_BINARY;
  if (fromEnv && isExecutable(fromEnv)) {
    const real = fs.realpathSync(fromEnv);
    if (!['false', 'true'].includes(path.basename(real))) return fromEnv;
  }
  const enginesDir = path.join(root, 'node_modules', '@prisma', 'engines');
  if (fs.existsSync(enginesDir)) {
    for (const name of fs.readdirSync(enginesDir).sort()) {
      if (name.startsWith('schema-engine') && !/\.(js|ts|map|json|md)$/.test(name)) {
        const file = path.join(enginesDir, name);
        if (isExecutable(file)) return file;
      }
    }
  }
  return null;
}

async function finishedMigrations(databaseUrl: string): Promise<Set<string>> {
  const client = await connect(databaseUrl);
  try {
    if (!(await migrationsTableExists(client))) return new Set();
    const { rows } = await client.query<{ migration_name: string }>(
      'SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL',
    );
    return new Set(rows.map((row) => row.migration_name));
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * The project's own Prisma CLI (package `prisma`). Resolved through the package rather than node_modules/.bin/prisma:
 * the devDependency `prisma6` (an alias of prisma@6.19.3, used to diff schemas offline) declares the same bin name,
 * and an incremental `npm install` can leave .bin/prisma pointing at it.
 */
export function prismaCli(root: string = projectRoot()): string {
  const pkgFile = require.resolve('prisma/package.json', { paths: [root] });
  const pkg = JSON.parse(fs.readFileSync(pkgFile, 'utf8')) as { bin: string | Record<string, string> };
  const bin = typeof pkg.bin === 'string' ? pkg.bin : pkg.bin.prisma;
  return path.join(path.dirname(pkgFile), bin);
}

function prismaDeploy(root: string, databaseUrl: string, engine: string, log: (msg: string) => void): Promise<void> {
  const env = {
    ...process.env,
    DATABASE_URL: databaseUrl,
    PRISMA_SCHEMA_ENGINE_BINARY: engine,
    PRISMA_HIDE_UPDATE_MESSAGE: '1',
  };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [prismaCli(root), 'migrate', 'deploy'], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const onData = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      output += text;
      for (const line of text.split('\n')) if (line.trim() !== '') log(`prisma: ${line.trimEnd()}`);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`prisma migrate deploy exited with code ${code}:\n${output.trim()}`));
    });
  });
}

/**
 * Brings the database up to date with prisma/migrations: through `prisma migrate deploy` where a real schema engine
 * exists, otherwise through the built-in runner. Returns the migrations applied by this call (none when up to date).
 */
export async function migrateDatabase(
  databaseUrl: string,
  log: (msg: string) => void = () => {},
): Promise<{ applied: string[]; via: 'prisma' | 'runner' }> {
  const root = projectRoot();
  const engine = findSchemaEngine(root);
  if (engine !== null) {
    log(`applying migrations with prisma migrate deploy (schema engine ${engine})`);
    const before = await finishedMigrations(databaseUrl);
    await prismaDeploy(root, databaseUrl, engine, log);
    const after = await finishedMigrations(databaseUrl);
    return { applied: [...after].filter((name) => !before.has(name)).sort(), via: 'prisma' };
  }
  log('no Prisma schema engine on this machine: applying migrations with the built-in runner');
  return {
    applied: await runMigrations(databaseUrl, { migrationsDir: migrationsDirectory(root), log }),
    via: 'runner',
  };
}
