// `npm run restore -- --from DIR [--replace]`: checks the manifest's checksums, then restores Temporal, the app
// database, attachments, settings and the token key (infra/backup.ts) with the system stopped, and lists the cases
// with actions after the Temporal snapshot began — what Temporal may not have seen.
// `npm run restore -- --reconcile`, once the system runs again: compares those cases (and every open one) with their
// workflows, sends lost decisions again, and lists what needs an administrator (infra/restore-reconcile.ts).
import fs from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { loadConfig, type Config } from '../config';
import { restoreBackup, RESTORE_REPORT } from '../infra/backup';
import { createPrisma } from '../infra/db';
import { openDatabase } from '../infra/environment';
import { actionsSince, reconcileWithTemporal, type AtRisk } from '../infra/restore-reconcile';

const say = (m: string) => console.log(`[restore] ${m}`);

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

interface Report {
  backup: string;
  restoredAt: string;
  temporalSnapshotStartedAt: string;
  atRisk: AtRisk[];
  reconciledAt?: string;
}

const reportFile = (config: Config) => path.join(config.DATA_DIR, RESTORE_REPORT);

async function restore(config: Config, from: string) {
  const db = await openDatabase(config, say);
  try {
    const m = await restoreBackup(config, {
      from,
      databaseUrl: db.url,
      log: say,
      replace: process.argv.includes('--replace'),
    });
    const prisma = createPrisma(db.url, 2);
    try {
      const atRisk = await actionsSince(prisma, new Date(m.temporal.startedAt));
      const report: Report = {
        backup: path.resolve(from),
        restoredAt: new Date().toISOString(),
        temporalSnapshotStartedAt: m.temporal.startedAt,
        atRisk,
      };
      fs.mkdirSync(config.DATA_DIR, { recursive: true });
      fs.writeFileSync(reportFile(config), `${JSON.stringify(report, null, 2)}\n`);
      if (atRisk.length === 0) {
        say('no case was acted on after the Temporal snapshot began: Temporal and the app database agree');
      } else {
        say(
          `${atRisk.length} case(s) were acted on after the Temporal snapshot began (${m.temporal.startedAt}); Temporal may not know:`,
        );
        for (const c of atRisk) say(`  case ${c.applicationId}: ${c.actions.map((a) => a.action).join(', ')}`);
      }
      say(`written to ${reportFile(config)}. Start the system, then run: npm run restore -- --reconcile`);
    } finally {
      await prisma.$disconnect();
    }
  } finally {
    await db.stop();
  }
}

async function reconcile(config: Config) {
  const address = config.TEMPORAL_ADDRESS ?? `127.0.0.1:${config.TEMPORAL_PORT}`;
  const file = reportFile(config);
  const report: Report | null = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : null;
  const db = await openDatabase(config, say);
  const prisma = createPrisma(db.url, 2);
  const connection = await Connection.connect({ address });
  try {
    const temporal = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
    const r = await reconcileWithTemporal({
      prisma,
      temporal,
      also: report?.atRisk.map((c) => c.applicationId),
      log: say,
      updateTimeoutMs: config.UPDATE_TIMEOUT_MS * 2,
    });
    say(
      `checked ${r.checked} case(s): ${r.inStep} in step, ${r.replayed.length} decision(s) sent again, ${r.restarted.length} workflow(s) to be started again, ${r.needsAdmin.length} for an administrator`,
    );
    for (const n of r.needsAdmin) say(`  case ${n.applicationId}: ${n.problem}`);
    if (report)
      fs.writeFileSync(
        file,
        `${JSON.stringify({ ...report, reconciledAt: new Date().toISOString(), result: r }, null, 2)}\n`,
      );
    // The last line is machine-readable for scripts and tests.
    console.log(JSON.stringify({ reconciled: r }));
    if (r.needsAdmin.length > 0) process.exitCode = 2;
  } finally {
    await connection.close();
    await prisma.$disconnect();
    await db.stop();
  }
}

async function main() {
  const config = loadConfig();
  if (process.argv.includes('--reconcile')) return reconcile(config);
  const from = option('from');
  if (!from)
    throw new Error('用法 (usage): npm run restore -- --from DIR [--replace]   |   npm run restore -- --reconcile');
  await restore(config, from);
}

main().catch((err) => {
  const cause = (err as { cause?: { message?: string } })?.cause?.message;
  console.error('[restore] failed:', err instanceof Error ? err.message : err, cause ? `(${cause})` : '');
  process.exit(1);
});
