import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { Client } from 'pg';
import { createPrisma } from '../../infra/db';
import { migrateDatabase } from '../../infra/migrations';
import { startEmbeddedPostgres } from '../../infra/postgres';
import { seedDemoData } from '../../infra/seed';
import { resolveTemporalCli, startDevServer } from '../../infra/temporal';
import { freePort } from './ports';

export const TEMPLATE_DB = 'xueji_test_template';

/**
 * Runs once per `jest` run: one Postgres (TEST_DATABASE_URL's server if set, else an embedded one in a
 * temporary directory), a template database with migrations and demo data, one Temporal dev server in
 * memory, and the workflow bundle. Test files clone the template into their own database.
 */
export default async function globalSetup() {
  const started = Date.now();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'xueji-test-'));
  fs.chmodSync(work, 0o755);
  const stops: (() => Promise<void>)[] = [];

  let adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) {
    const pg = await startEmbeddedPostgres({ dataDir: path.join(work, 'pg'), port: await freePort() });
    adminUrl = pg.adminUrl;
    stops.push(() => pg.stop());
  }
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`drop database if exists ${TEMPLATE_DB}`);
  await admin.query(`create database ${TEMPLATE_DB}`);
  await admin.end();
  const templateUrl = withDatabase(adminUrl, TEMPLATE_DB);
  await migrateDatabase(templateUrl);
  const prisma = createPrisma(templateUrl, 2);
  await seedDemoData(prisma, { pupilsPerSchool: 20 });
  await prisma.$disconnect();

  const cli = resolveTemporalCli({ log: (m) => console.log(m) });
  const temporal = await startDevServer(cli, { port: await freePort() });
  stops.push(() => temporal.stop());

  const bundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows'), logger: quietLogger });
  const bundlePath = path.join(work, 'workflow-bundle.js');
  fs.writeFileSync(bundlePath, bundle.code);

  process.env.TEST_PG_ADMIN_URL = adminUrl;
  process.env.TEST_TEMPLATE_DB = TEMPLATE_DB;
  process.env.TEST_TEMPORAL_ADDRESS = temporal.address;
  process.env.TEST_WORKFLOW_BUNDLE = bundlePath;
  process.env.TEST_WORK_DIR = work;
  if (cli) process.env.TEMPORAL_CLI_PATH = cli;
  (globalThis as { __xuejiStops?: typeof stops }).__xuejiStops = stops;
  console.log(
    `\n[global-setup] Postgres ${process.env.TEST_DATABASE_URL ? '(TEST_DATABASE_URL)' : '(embedded)'}, Temporal ${temporal.address}, ready in ${Date.now() - started} ms`,
  );
}

export function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

const quietLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (m: string) => console.warn(m),
  error: (m: string) => console.error(m),
};
