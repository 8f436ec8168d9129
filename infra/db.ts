import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client';

export type { PrismaClient };

/** The Prisma error code of a failed query (P2002 unique violation, P2003 foreign key …), if any. */
export function prismaErrorCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null ? (e as { code?: string }).code : undefined;
}

/** A unique constraint refused the write: the row (or a concurrent twin) already exists. */
export const isUniqueViolation = (e: unknown): boolean => prismaErrorCode(e) === 'P2002';

/** One Prisma client per process, on the pg driver adapter (no Rust query engine). */
export function createPrisma(databaseUrl: string, poolSize = 10): PrismaClient {
  const adapter = new PrismaPg({ connectionString: databaseUrl, max: poolSize });
  return new PrismaClient({ adapter });
}
