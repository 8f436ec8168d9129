// `npm run seed`: deletes all cases, pupils and users and loads the demo data again (DESIGN.md §4).
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
    const counts = await seedDemoData(prisma, { reset: true });
    console.log(
      `demo data loaded: ${counts.organisations} organisations, ${counts.users} users, ${counts.pupils} pupils`,
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
