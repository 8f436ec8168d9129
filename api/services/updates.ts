import type { UpdateDefinition } from '@temporalio/common';
import type { Stage } from '../../domain/types';
import type { Outcome } from '../../workflows/messages';
import type { AppDeps } from '../app';
import { conflict } from '../errors';
import { httpErrorFromTemporal } from '../temporal-errors';
import { startWorkflow, type loadVisibleApplication } from './applications';

type App = Awaited<ReturnType<typeof loadVisibleApplication>>;

/** 409 unless the case is open at this very stage (the workflow's validator checks again). */
export function assertDecidable(app: App, stage: Stage): void {
  if (app.status === 'RETURNED') throw conflict('该业务已退回申请学校修改，重新提交后才能审核');
  if (app.status !== 'IN_REVIEW') throw conflict('该业务已办结，不能再审核');
  if (stage !== app.currentStage) throw conflict('该业务已不在此审核环节，请刷新后查看当前环节');
}

/**
 * Sends an Update to the case's workflow (starting it first if the reconciler has not yet) and waits
 * at most UPDATE_TIMEOUT_MS: with no worker polling, an Update would otherwise wait forever. The
 * updateId is a business key, so a retried HTTP request returns the first result instead of acting twice.
 */
export async function sendUpdate<A, R = Outcome>(
  { prisma, temporal, config }: Pick<AppDeps, 'prisma' | 'temporal' | 'config'>,
  app: App,
  update: UpdateDefinition<R, [A]>,
  arg: A,
  updateId: string,
): Promise<R> {
  try {
    if (!app.workflowStartedAt) await startWorkflow(prisma, temporal, config.TEMPORAL_TASK_QUEUE, app);
    const handle = temporal.workflow.getHandle(app.workflowId);
    return await temporal.withDeadline(Date.now() + config.UPDATE_TIMEOUT_MS, () =>
      handle.executeUpdate(update, { args: [arg], updateId }),
    );
  } catch (e) {
    throw httpErrorFromTemporal(e);
  }
}
