// `npm run seed`: deletes all cases, pupils and users and loads the demo data again (DESIGN.md §4), with the demo's
// past (completed cases of the last nine months, infra/demo-history.ts).
// Workflows of deleted cases stop on their next step (ApplicationMissingError, not retried).
import { loadConfig } from '../config';
import { createPrisma } from '../infra/db';
import { openDatabase } from '../infra/environment';
import { migrateDatabase } from '../infra/migrations';
import { seedDemoData } from '../infra/seed';

async function main() {
  const config = loadConfig();
  const db = await openDatabase(config, console.log);
  const prisma = createPrisma(db.url);
  try {
    await migrateDatabase(db.url);
    const started = Date.now();
    const counts = await seedDemoData(prisma, { reset: true, history: true });
    const past = counts.history
      ? `, ${counts.history.cases} completed cases (${counts.history.from} – ${counts.history.to})`
      : '';
    console.log(
      `demo data loaded in ${Date.now() - started} ms: ${counts.organisations} organisations, ${counts.users} users, ` +
        `${counts.pupils} pupils${past}`,
    );
  } finally {
    await prisma.$disconnect();
    await db.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
