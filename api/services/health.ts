import type { PrismaClient } from '../../infra/db';

/** Whether Postgres answers a trivial query (readiness): never throws. */
export function databaseStatus(prisma: PrismaClient): Promise<'ok' | 'unreachable'> {
  return prisma.$queryRaw`select 1`.then(
    () => 'ok' as const,
    () => 'unreachable' as const,
  );
}
