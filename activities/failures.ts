// The worker's record of failing activities (DESIGN §5 "Failures the stuck view shows"): every failed attempt of an
// activity — local ones included, which Temporal's pendingActivities never shows — upserts one ActivityFailure row
// per workflow and activity type; the first success after failures deletes it. The stuck view reads the table, so
// it needs no call to Temporal and scales with the faults, not with the open cases.
import { Context } from '@temporalio/activity';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import type { Logger } from 'pino';
import type { PrismaClient } from '../infra/db';
import { LEGACY_RETRY, nextRetryDelayMs, WRITE_RETRY } from '../workflows/retry';

export function failureRecorder(prisma: PrismaClient, logger: Logger): ActivityInterceptorsFactory {
  return (ctx: Context) => ({
    inbound: {
      async execute(input, next) {
        const info = ctx.info;
        const workflowId = info.workflowExecution?.workflowId;
        const arg = input.args[0] as { applicationId?: unknown } | undefined;
        const applicationId = typeof arg?.applicationId === 'number' ? arg.applicationId : null;
        try {
          const result = await next(input);
          if (info.attempt > 1 && workflowId) {
            await prisma.activityFailure
              .deleteMany({ where: { workflowId, activityType: info.activityType } })
              .catch((e: unknown) => logger.warn({ err: String(e), workflowId }, 'failure record not cleared'));
          }
          return result;
        } catch (err) {
          if (workflowId) {
            const now = new Date();
            const delay = nextRetryDelayMs(info.isLocal ? WRITE_RETRY : LEGACY_RETRY, info.attempt);
            const lastError = (err instanceof Error ? `${err.name}: ${err.message}` : String(err)).slice(0, 2000);
            const row = {
              applicationId,
              attempt: info.attempt,
              lastError,
              lastAttemptAt: now,
              nextAttemptAt: new Date(now.getTime() + delay),
            };
            // Best effort: when the database itself is the fault, this fails too (and the log says so).
            await prisma.activityFailure
              .upsert({
                where: { workflowId_activityType: { workflowId, activityType: info.activityType } },
                create: { workflowId, activityType: info.activityType, ...row },
                update: row,
              })
              .catch((e: unknown) => logger.warn({ err: String(e), workflowId }, 'failure not recorded'));
          }
          throw err;
        }
      },
    },
  });
}
