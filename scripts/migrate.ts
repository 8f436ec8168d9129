// `npm run migrate`: applies pending migrations to DATABASE_URL (or the embedded Postgres).
import { loadConfig } from '../config';
import { openDatabase } from '../infra/environment';
import { migrateDatabase } from '../infra/migrations';

async function main() {
  const config = loadConfig();
  const db = await openDatabase(config, console.log);
  try {
    const { applied, via } = await migrateDatabase(db.url, console.log);
    console.log(applied.length ? `applied (${via}): ${applied.join(', ')}` : 'database is up to date');
  } finally {
    await db.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
