// Developer command: writes prisma/migrations/<UTC timestamp>_<name>/migration.sql with the SQL that takes the
// database from the schema as committed (git HEAD, or --from <rev>) to the working-tree prisma/schema.prisma.
//
//   tsx scripts/new-migration.ts <name> [--from <git-rev> | --from empty]
//
// Why not `prisma migrate dev`: it needs Prisma's native schema engine, which cannot be downloaded on every machine.
// Prisma 6.19's CLI (devDependency `prisma6`) ships its schema engine as WebAssembly and can diff two schema files
// without any database; that is what this does (test/migrations.test.ts uses it too). Review the SQL before committing it. Hand-written SQL (such as the
// partial index in the init migration) never shows up here, because both sides of the diff are schema files; with an
// unchanged schema the migration is written empty, for SQL written by hand.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { migrationsDirectory, projectRoot } from '../infra/migrations';

export const PRISMA6_VERSION = '6.19.3';

/**
 * Makes a Prisma 7 schema acceptable to Prisma 6.19's parser without changing the database it describes: generator
 * blocks become plain `prisma-client-js` ones (keeping previewFeatures) and the datasource gets the `url` that 6.19
 * requires (never used: the diff reads no database).
 */
export function toPrisma6Datamodel(schema: string): string {
  return schema
    .replace(/^generator\s+(\w+)\s*\{([^}]*)\}/gm, (_block, name: string, body: string) => {
      const preview = /^\s*previewFeatures\s*=.*$/m.exec(body)?.[0].trim();
      return `generator ${name} {\n  provider = "prisma-client-js"\n${preview ? `  ${preview}\n` : ''}}`;
    })
    .replace(/^datasource\s+(\w+)\s*\{([^}]*)\}/gm, (block, name: string, body: string) =>
      /^\s*url\s*=/m.test(body)
        ? block
        : `datasource ${name} {${body.replace(/\s*$/, '')}\n  url = "postgresql://offline.invalid/unused"\n}`,
    );
}

// Prisma 6.19 runs its WebAssembly schema engine only in driver-adapter mode, and the engine asks the adapter for the
// server version before diffing. This stand-in answers that one question, so no database is needed; anything else
// it is asked fails loudly. Plain JavaScript with no imports, so it loads from a temporary directory.
const OFFLINE_CONFIG = `
const refuse = async (what) => {
  throw new Error('offline schema diff: no database (' + what + ')');
};
const connection = {
  provider: 'postgres',
  adapterName: '@prisma/adapter-pg',
  async queryRaw(query) {
    if (!/version\\(\\)/.test(query.sql)) return refuse(query.sql);
    return {
      columnNames: ['exists', 'version', 'numeric_version'],
      columnTypes: [5, 7, 0],
      rows: [[true, 'PostgreSQL 15.0', 150000]],
    };
  },
  executeRaw: (query) => refuse(query.sql),
  executeScript: (script) => refuse(script),
  startTransaction: () => refuse('transaction'),
  getConnectionInfo: () => ({ schemaName: 'public', supportsRelationJoins: true }),
  dispose: async () => {},
};
export default {
  experimental: { adapter: true },
  engine: 'js',
  schema: 'to.prisma',
  adapter: async () => ({
    provider: 'postgres',
    adapterName: '@prisma/adapter-pg',
    connect: async () => connection,
    connectToShadowDb: async () => connection,
  }),
};
`;

/** The local Prisma 6.19 CLI (devDependency `prisma6`), or null when it is not installed. */
export function prisma6Cli(root: string = projectRoot()): string | null {
  try {
    const pkgFile = require.resolve('prisma6/package.json', { paths: [root] });
    const version = (JSON.parse(fs.readFileSync(pkgFile, 'utf8')) as { version: string }).version;
    if (!version.startsWith('6.19.')) return null;
    return path.join(path.dirname(pkgFile), 'build', 'index.js');
  } catch {
    return null;
  }
}

/**
 * SQL that migrates a Postgres database from schema `from` (null: an empty database) to schema `to`, both given as
 * schema.prisma text. Runs Prisma 6.19's CLI offline; `allowNpx` lets it fetch prisma@6.19.3 with npx when the
 * devDependency is missing.
 */
export function diffSchemas(from: string | null, to: string, opts: { allowNpx?: boolean } = {}): string {
  const cli = prisma6Cli();
  if (cli === null && !opts.allowNpx) {
    throw new Error(`Prisma ${PRISMA6_VERSION} is not installed: run npm ci (devDependency "prisma6")`);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'prisma-diff-'));
  try {
    fs.writeFileSync(path.join(dir, 'prisma.config.ts'), OFFLINE_CONFIG);
    fs.writeFileSync(path.join(dir, 'to.prisma'), toPrisma6Datamodel(to));
    const fromArgs = ['--from-empty'];
    if (from !== null) {
      fs.writeFileSync(path.join(dir, 'from.prisma'), toPrisma6Datamodel(from));
      fromArgs.splice(0, 1, '--from-schema-datamodel', 'from.prisma');
    }
    const args = ['migrate', 'diff', ...fromArgs, '--to-schema-datamodel', 'to.prisma', '--script'];
    // Any existing file will do for the two engine variables: they only stop the CLI from downloading native engines
    // it does not use here.
    const stub = process.platform === 'win32' ? process.execPath : '/bin/false';
    const env = {
      ...process.env,
      PRISMA_SCHEMA_ENGINE_BINARY: stub,
      PRISMA_QUERY_ENGINE_LIBRARY: stub,
      CHECKPOINT_DISABLE: '1',
      PRISMA_HIDE_UPDATE_MESSAGE: '1',
    };
    const result =
      cli !== null
        ? spawnSync(process.execPath, [cli, ...args], { cwd: dir, env, encoding: 'utf8', timeout: 120_000 })
        : spawnSync('npx', ['-y', `prisma@${PRISMA6_VERSION}`, ...args], {
            cwd: dir,
            env,
            encoding: 'utf8',
            timeout: 300_000,
            shell: process.platform === 'win32',
          });
    if (result.error) throw result.error;
    if (result.status !== 0) {
      throw new Error(`prisma ${PRISMA6_VERSION} migrate diff failed (exit ${result.status}):\n${result.stderr}`);
    }
    return result.stdout;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function usage(): string {
  return 'usage: tsx scripts/new-migration.ts <name> [--from <git-rev> | --from empty]';
}

function main(argv: string[]): void {
  let rev = 'HEAD';
  const names: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--help' || argv[i] === '-h') {
      console.log(usage());
      return;
    }
    if (argv[i] === '--from') {
      const value = argv[++i];
      if (!value) throw new Error(usage());
      rev = value;
    } else names.push(argv[i]);
  }
  if (names.length !== 1) throw new Error(usage());
  const name = names[0]
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 200);
  if (name === '') throw new Error(`"${names[0]}" is not a usable migration name`);

  const root = projectRoot();
  const dir = migrationsDirectory(root);
  const existing = fs.existsSync(dir)
    ? fs
        .readdirSync(dir, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => e.name)
        .sort()
    : [];

  const current = fs.readFileSync(path.join(root, 'prisma', 'schema.prisma'), 'utf8');
  const shown = spawnSync('git', ['show', `${rev}:./prisma/schema.prisma`], { cwd: root, encoding: 'utf8' });
  let previous: string | null;
  if (rev === 'empty') {
    previous = null; // the whole schema, from an empty database
  } else if (shown.status === 0) {
    previous = shown.stdout;
  } else if (existing.length === 0) {
    previous = null; // the first migration: from an empty database
  } else {
    throw new Error(`cannot read prisma/schema.prisma at ${rev} (git show: ${shown.stderr.trim() || shown.error})`);
  }
  if (previous === current) console.error(`prisma/schema.prisma is unchanged since ${rev}.`);

  const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
  const last = existing.at(-1);
  if (last !== undefined && stamp <= last.slice(0, 14)) {
    throw new Error(`the new migration's timestamp ${stamp} would not sort after ${last}: check the clock`);
  }

  const sql = diffSchemas(previous, current, { allowNpx: true });
  const empty = sql.trim() === '' || /^-- This is an empty migration\.\s*$/.test(sql.trim());

  const target = path.join(dir, `${stamp}_${name}`);
  fs.mkdirSync(target, { recursive: true });
  const file = path.join(target, 'migration.sql');
  fs.writeFileSync(file, sql);
  const lockFile = path.join(dir, 'migration_lock.toml');
  if (!fs.existsSync(lockFile)) {
    fs.writeFileSync(
      lockFile,
      '# Please do not edit this file manually\n# It should be added in your version-control system (e.g., Git)\n' +
        'provider = "postgresql"\n',
    );
  }
  const base = previous === null ? 'an empty database' : `prisma/schema.prisma at ${rev}`;
  console.log(`wrote ${path.relative(root, file)} (from ${base} to the working-tree schema)`);
  if (empty) console.log('It is empty: the schema did not change. Write SQL by hand or delete the directory.');
  else console.log(`\n${sql.trimEnd()}`);
}

if (require.main === module) {
  try {
    main(process.argv.slice(2));
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  }
}
