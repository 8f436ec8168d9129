// prisma/migrations and prisma/schema.prisma must describe the same database, and the built-in migration runner must
// behave like `prisma migrate deploy`. No network is needed: the schema side is derived with the local Prisma 6.19 CLI
// (devDependency `prisma6`), which diffs schema files with its WebAssembly engine and no database.

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { migrateDatabase, migrationsDirectory, prismaCli, projectRoot, runMigrations } from '../infra/migrations';
import { diffSchemas, prisma6Cli } from '../scripts/new-migration';

const ADMIN_URL = process.env.TEST_PG_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

/**
 * Every deliberate difference between the database built from the migrations and the one built from schema.prisma.
 * Each must actually occur (a stale entry fails the test too), and nothing else may differ.
 */
const KNOWN_DIFFERENCES: { onlyIn: 'migrations' | 'schema'; key: RegExp; reason: string }[] = [
  {
    onlyIn: 'migrations',
    key: /^(relation|column|index|constraint|sequence) "_prisma_migrations"/,
    reason: "Prisma's bookkeeping table, created by `prisma migrate deploy` (or our runner), not by the schema",
  },
  {
    onlyIn: 'migrations',
    key: /^index "Application"\."Application_one_open_per_student"$/,
    reason: 'partial unique index (one open case per pupil): Prisma schema cannot express it, so it is hand-written',
  },
  {
    onlyIn: 'migrations',
    key: /^index "MailOutbox"\."MailOutbox_pending"$/,
    reason: "partial index of unsent mail (the dispatcher's queue): hand-written",
  },
  {
    onlyIn: 'migrations',
    key: /^index "Application"\."Application_workflow_not_(started|closed)"$/,
    reason:
      "partial indexes of cases whose workflow has not started or not seen the case closed (the reconciler's questions): hand-written",
  },
  {
    onlyIn: 'migrations',
    key: /^index "Application"\."Application_(open_queue|returned)_idx"$/,
    reason: "partial indexes of open cases per holder (待办's page) and of returned ones (its total): hand-written",
  },
  {
    onlyIn: 'migrations',
    key: /^function "xueji_(minute_bucket|rebuild_stage_rollup)"/,
    reason: 'SQL functions of the statistics roll-up (domain/histogram.ts bucketing, its rebuild): hand-written',
  },
  {
    onlyIn: 'migrations',
    key: /^function "xueji_(append_audit|lock_case)"/,
    reason: "server-side parts of the workflow's writes (the audit append, the case with its steps): hand-written",
  },
];

let admin: Client;
let created: string[] = [];
let counter = 0;

beforeAll(async () => {
  admin = new Client({ connectionString: ADMIN_URL });
  await admin.connect();
});

afterEach(async () => {
  const names = created;
  created = [];
  for (const name of names) await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
});

afterAll(async () => {
  await admin?.end();
});

/** A new empty database, dropped after the test. */
async function createDatabase(tag: string): Promise<string> {
  const name = `migtest_${tag}_${process.pid}_${Date.now().toString(36)}_${++counter}`;
  await admin.query(`CREATE DATABASE "${name}" TEMPLATE template0`);
  created.push(name);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

async function withClient<T>(url: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

const RELKIND: Record<string, string> = {
  r: 'table',
  p: 'partitioned table',
  v: 'view',
  m: 'materialized view',
  S: 'sequence',
  f: 'foreign table',
  c: 'composite type',
};
const CONTYPE: Record<string, string> = {
  p: 'PRIMARY KEY',
  f: 'FOREIGN KEY',
  u: 'UNIQUE',
  c: 'CHECK',
  x: 'EXCLUDE',
  t: 'TRIGGER',
};

/** The public schema as `kind "name"` → definition, read from pg_catalog (no pg_dump on a fresh machine). */
async function describeSchema(url: string): Promise<Map<string, string>> {
  return withClient(url, async (c) => {
    const out = new Map<string, string>();
    const ns = `'public'::regnamespace`;

    for (const r of (
      await c.query(`SELECT relname, relkind FROM pg_class
                      WHERE relnamespace = ${ns} AND relkind IN ('r', 'p', 'v', 'm', 'S', 'f', 'c')`)
    ).rows) {
      out.set(`relation "${r.relname}"`, RELKIND[r.relkind] ?? r.relkind);
    }

    // Column order is not compared: a column added by a later migration comes last, in the schema it may not.
    for (const r of (
      await c.query(`
        SELECT t.relname, a.attname, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull,
               pg_get_expr(d.adbin, d.adrelid) AS def, a.attidentity, a.attgenerated,
               CASE WHEN a.attcollation <> ty.typcollation THEN co.collname END AS collation
          FROM pg_attribute a
          JOIN pg_class t ON t.oid = a.attrelid
          JOIN pg_type ty ON ty.oid = a.atttypid
          LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
          LEFT JOIN pg_collation co ON co.oid = a.attcollation
         WHERE t.relnamespace = ${ns} AND t.relkind IN ('r', 'p', 'v', 'm', 'f') AND a.attnum > 0
           AND NOT a.attisdropped`)
    ).rows) {
      const parts = [r.type, r.attnotnull ? 'NOT NULL' : 'NULL'];
      if (r.def !== null) parts.push(`DEFAULT ${r.def}`);
      if (r.attidentity) parts.push(`IDENTITY ${r.attidentity}`);
      if (r.attgenerated) parts.push(`GENERATED ${r.attgenerated}`);
      if (r.collation) parts.push(`COLLATE ${r.collation}`);
      out.set(`column "${r.relname}"."${r.attname}"`, parts.join(' '));
    }

    // Enum values as a set: Prisma does not migrate value order, and ALTER TYPE ... ADD VALUE appends.
    for (const r of (
      await c.query(`SELECT t.typname, array_agg(e.enumlabel::text ORDER BY e.enumlabel) AS labels
                       FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid
                      WHERE t.typnamespace = ${ns} GROUP BY t.typname`)
    ).rows) {
      out.set(`enum "${r.typname}"`, (r.labels as string[]).join(', '));
    }

    for (const r of (
      await c.query(`SELECT typname, format_type(typbasetype, typtypmod) AS base, typnotnull FROM pg_type
                      WHERE typnamespace = ${ns} AND typtype = 'd'`)
    ).rows) {
      out.set(`domain "${r.typname}"`, `${r.base}${r.typnotnull ? ' NOT NULL' : ''}`);
    }

    for (const r of (
      await c.query(`SELECT t.relname AS tbl, i.relname AS idx, pg_get_indexdef(i.oid) AS def
                       FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
                      WHERE t.relnamespace = ${ns}`)
    ).rows) {
      out.set(`index "${r.tbl}"."${r.idx}"`, r.def);
    }

    for (const r of (
      await c.query(`SELECT t.relname, con.conname, con.contype, pg_get_constraintdef(con.oid) AS def
                       FROM pg_constraint con JOIN pg_class t ON t.oid = con.conrelid
                      WHERE con.connamespace = ${ns}`)
    ).rows) {
      out.set(`constraint "${r.relname}"."${r.conname}"`, `${CONTYPE[r.contype] ?? r.contype}: ${r.def}`);
    }

    for (const r of (
      await c.query(`
        SELECT s.sequencename, s.data_type, s.start_value, s.increment_by, s.min_value, s.max_value, s.cycle,
               (SELECT t.relname || '.' || a.attname
                  FROM pg_depend dep
                  JOIN pg_class t ON t.oid = dep.refobjid
                  JOIN pg_attribute a ON a.attrelid = dep.refobjid AND a.attnum = dep.refobjsubid
                 WHERE dep.classid = 'pg_class'::regclass AND dep.objid = format('%I', s.sequencename)::regclass
                   AND dep.deptype IN ('a', 'i')) AS owned_by
          FROM pg_sequences s WHERE s.schemaname = 'public'`)
    ).rows) {
      out.set(
        `sequence "${r.sequencename}"`,
        `${r.data_type} start ${r.start_value} increment ${r.increment_by} min ${r.min_value} max ${r.max_value}` +
          `${r.cycle ? ' cycle' : ''} owned by ${r.owned_by ?? 'none'}`,
      );
    }

    for (const r of (
      await c.query(`SELECT t.relname, tg.tgname, pg_get_triggerdef(tg.oid) AS def
                       FROM pg_trigger tg JOIN pg_class t ON t.oid = tg.tgrelid
                      WHERE t.relnamespace = ${ns} AND NOT tg.tgisinternal`)
    ).rows) {
      out.set(`trigger "${r.relname}"."${r.tgname}"`, r.def);
    }

    for (const r of (
      await c.query(`SELECT p.proname, pg_get_function_identity_arguments(p.oid) AS args,
                            pg_get_function_result(p.oid) AS result, md5(p.prosrc) AS body
                       FROM pg_proc p WHERE p.pronamespace = ${ns}`)
    ).rows) {
      out.set(`function "${r.proname}"(${r.args})`, `returns ${r.result}, body md5 ${r.body}`);
    }

    for (const r of (await c.query(`SELECT extname, extversion FROM pg_extension`)).rows) {
      out.set(`extension "${r.extname}"`, r.extversion);
    }
    return out;
  });
}

interface Difference {
  key: string;
  onlyIn?: 'migrations' | 'schema';
  text: string;
}

function compareSchemas(fromMigrations: Map<string, string>, fromSchema: Map<string, string>): Difference[] {
  const keys = [...new Set([...fromMigrations.keys(), ...fromSchema.keys()])].sort();
  const out: Difference[] = [];
  for (const key of keys) {
    const m = fromMigrations.get(key);
    const s = fromSchema.get(key);
    if (s === undefined) out.push({ key, onlyIn: 'migrations', text: `only in the migrations: ${key}: ${m}` });
    else if (m === undefined) out.push({ key, onlyIn: 'schema', text: `only in schema.prisma: ${key}: ${s}` });
    else if (m !== s) out.push({ key, text: `differs: ${key}\n  migrations:   ${m}\n  schema.prisma: ${s}` });
  }
  return out;
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

function copyMigrations(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'migrations-test-'));
  fs.cpSync(migrationsDirectory(), dir, { recursive: true });
  return dir;
}

describe('prisma/migrations', () => {
  test("node_modules/.bin/prisma is the project's Prisma, not the prisma6 alias (same bin name)", () => {
    const link = path.join(projectRoot(), 'node_modules', '.bin', 'prisma');
    if (process.platform === 'win32' || !fs.lstatSync(link).isSymbolicLink()) return;
    // A fresh `npm ci` links the first package by path (prisma before prisma6); an incremental `npm install` may not.
    const target = fs.realpathSync(link);
    expect({ target, fix: 'npm ci, or: ln -sfn ../prisma/build/index.js node_modules/.bin/prisma' }).toEqual({
      target: fs.realpathSync(prismaCli()),
      fix: expect.any(String),
    });
  });

  test('build the same database as schema.prisma, apart from the listed deliberate differences', async () => {
    expect(prisma6Cli()).not.toBeNull(); // the local devDependency, so no download at test time
    const schema = fs.readFileSync(path.join(projectRoot(), 'prisma', 'schema.prisma'), 'utf8');
    const [viaMigrations, viaSchema] = await Promise.all([createDatabase('migrations'), createDatabase('schema')]);
    const schemaSql = diffSchemas(null, schema);

    await migrateDatabase(viaMigrations);
    await withClient(viaSchema, (c) => c.query(schemaSql));

    const fromMigrations = await describeSchema(viaMigrations);
    const fromSchema = await describeSchema(viaSchema);
    expect(fromSchema.get('relation "Application"')).toBe('table'); // not two empty databases

    const differences = compareSchemas(fromMigrations, fromSchema);
    const explained = (d: Difference) => KNOWN_DIFFERENCES.some((k) => k.onlyIn === d.onlyIn && k.key.test(d.key));
    expect(differences.filter((d) => !explained(d)).map((d) => d.text)).toEqual([]);
    const stale = KNOWN_DIFFERENCES.filter((k) => !differences.some((d) => d.onlyIn === k.onlyIn && k.key.test(d.key)));
    expect(stale.map((k) => `listed but not found (only in ${k.onlyIn}: ${k.key}): ${k.reason}`)).toEqual([]);

    const partial = fromMigrations.get('index "Application"."Application_one_open_per_student"');
    expect(partial).toMatch(/^CREATE UNIQUE INDEX "Application_one_open_per_student" ON public\."Application"/);
    const open = `ARRAY['IN_REVIEW'::"ApplicationStatus", 'RETURNED'::"ApplicationStatus"]`;
    expect(partial).toContain(`("studentNo") WHERE (status = ANY (${open}))`);
  }, 60_000);

  test('the runner records migrations as Prisma does, under its lock, and a second run applies nothing', async () => {
    const url = await createDatabase('runner');
    const names = fs
      .readdirSync(migrationsDirectory(), { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
    expect(names.length).toBeGreaterThan(0);

    // Two at once: Prisma's advisory lock makes one wait, and it then finds nothing left to do.
    const runs = await Promise.all([runMigrations(url), runMigrations(url)]);
    expect(runs.map((r) => r.length).sort()).toEqual([0, names.length]);
    expect(runs.flat()).toEqual(names);
    expect(await runMigrations(url)).toEqual([]);
    expect((await migrateDatabase(url)).applied).toEqual([]);

    await withClient(url, async (c) => {
      const { rows } = await c.query(`SELECT * FROM _prisma_migrations ORDER BY migration_name`);
      expect(rows.map((r) => r.migration_name)).toEqual(names);
      for (const row of rows) {
        const file = path.join(migrationsDirectory(), row.migration_name, 'migration.sql');
        expect(row.checksum).toBe(sha256(fs.readFileSync(file)));
        expect(row.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        expect(row.finished_at).toBeInstanceOf(Date);
        expect(row.finished_at.getTime()).toBeGreaterThanOrEqual(row.started_at.getTime());
        expect(row.rolled_back_at).toBeNull();
        expect(row.logs).toBeNull();
        expect(row.applied_steps_count).toBe(1);
      }
    });

    // The table itself, as prisma-engines creates it.
    const table = [...(await describeSchema(url))].filter(([key]) => key.includes('"_prisma_migrations"'));
    expect(Object.fromEntries(table)).toEqual({
      'relation "_prisma_migrations"': 'table',
      'column "_prisma_migrations"."id"': 'character varying(36) NOT NULL',
      'column "_prisma_migrations"."checksum"': 'character varying(64) NOT NULL',
      'column "_prisma_migrations"."finished_at"': 'timestamp with time zone NULL',
      'column "_prisma_migrations"."migration_name"': 'character varying(255) NOT NULL',
      'column "_prisma_migrations"."logs"': 'text NULL',
      'column "_prisma_migrations"."rolled_back_at"': 'timestamp with time zone NULL',
      'column "_prisma_migrations"."started_at"': 'timestamp with time zone NOT NULL DEFAULT now()',
      'column "_prisma_migrations"."applied_steps_count"': 'integer NOT NULL DEFAULT 0',
      'constraint "_prisma_migrations"."_prisma_migrations_pkey"': 'PRIMARY KEY: PRIMARY KEY (id)',
      'index "_prisma_migrations"."_prisma_migrations_pkey"':
        'CREATE UNIQUE INDEX _prisma_migrations_pkey ON public._prisma_migrations USING btree (id)',
    });
  });

  test('the runner refuses a migration edited after it was applied (line endings alone do not count)', async () => {
    const url = await createDatabase('edited');
    const dir = copyMigrations();
    try {
      const applied = await runMigrations(url, { migrationsDir: dir });
      const first = path.join(dir, applied[0], 'migration.sql');
      const original = fs.readFileSync(first, 'utf8');

      fs.writeFileSync(first, original.replace(/\n/g, '\r\n')); // a Windows checkout: Prisma accepts it too
      expect(await runMigrations(url, { migrationsDir: dir })).toEqual([]);

      fs.writeFileSync(first, original.replace('"Organisation"', '"Organization"'));
      await expect(runMigrations(url, { migrationsDir: dir })).rejects.toThrow(
        new RegExp(`${applied[0]} were edited after they were applied`),
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a failing migration is rolled back, recorded as failed, and blocks later runs until resolved', async () => {
    const url = await createDatabase('failed');
    const dir = copyMigrations();
    try {
      const broken = path.join(dir, '99991231000000_broken');
      fs.mkdirSync(broken);
      fs.writeFileSync(path.join(broken, 'migration.sql'), 'CREATE TABLE "Broken" (id int);\nSELECT 1 / 0;\n');

      await expect(runMigrations(url, { migrationsDir: dir })).rejects.toThrow(
        /99991231000000_broken failed and was rolled back[\s\S]*division by zero/,
      );
      await withClient(url, async (c) => {
        expect((await c.query(`SELECT to_regclass('"Broken"') AS t`)).rows[0].t).toBeNull();
        const { rows } = await c.query(
          `SELECT finished_at, rolled_back_at, logs FROM _prisma_migrations WHERE migration_name = $1`,
          ['99991231000000_broken'],
        );
        expect(rows).toHaveLength(1);
        expect(rows[0].finished_at).toBeNull();
        expect(rows[0].rolled_back_at).toBeNull();
        expect(rows[0].logs).toMatch(/division by zero/);
      });

      fs.writeFileSync(path.join(broken, 'migration.sql'), 'CREATE TABLE "Broken" (id int);\n');
      await expect(runMigrations(url, { migrationsDir: dir })).rejects.toThrow(/99991231000000_broken failed earlier/);

      // What `prisma migrate resolve --rolled-back 99991231000000_broken` does; then the fixed migration applies.
      await withClient(url, (c) =>
        c.query(`UPDATE _prisma_migrations SET rolled_back_at = now() WHERE migration_name = $1`, [
          '99991231000000_broken',
        ]),
      );
      expect(await runMigrations(url, { migrationsDir: dir })).toEqual(['99991231000000_broken']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
