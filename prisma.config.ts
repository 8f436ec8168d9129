import 'dotenv/config';
import { defineConfig } from 'prisma/config';

// Used by the Prisma CLI only (generate, and `migrate deploy` where the schema engine exists).
// At run time the app builds its own PrismaPg adapter from config.ts.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://localhost:5432/postgres' },
});
