import type { PrismaClient } from './db';

/**
 * Recomputes what the activities keep incrementally beside the cases — each open case's `waitingSince` (待办's
 * order) and the statistics roll-up (StageRollup) — from the cases themselves. For data loaded straight into the
 * tables (a migration from another system, the bench's read model) and as a repair; the roll-up's own test
 * compares it with what the activities kept. Runs in one transaction: readers see the old figures or the new.
 */
export async function rebuildDerivedReadModel(prisma: PrismaClient): Promise<void> {
  await prisma.$transaction(
    async (tx) => {
      await tx.$executeRaw`
        update "Application" a set "waitingSince" = s."openedAt"
          from "ApplicationStep" s
         where a.status = 'IN_REVIEW' and s."applicationId" = a.id and s.round = a.round and s.stage = a."currentStage"
           and a."waitingSince" is distinct from s."openedAt"`;
      await tx.$executeRaw`
        update "Application" a set "waitingSince" = (
            select max(s."decidedAt") from "ApplicationStep" s where s."applicationId" = a.id and s.round = a.round)
         where a.status = 'RETURNED'`;
      await tx.$executeRaw`
        update "Application" set "waitingSince" = null
         where status not in ('IN_REVIEW', 'RETURNED') and "waitingSince" is not null`;
      await tx.$executeRaw`select xueji_rebuild_stage_rollup()`;
    },
    { timeout: 30 * 60_000 },
  );
}
