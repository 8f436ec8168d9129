// The bench's baseline, a "bare chain" of the same shape as a transfer: start a workflow, four Updates each running
// one ordinary activity that updates one row, complete. No domain code: what Temporal and Postgres cost alone.
import { allHandlersFinished, condition, defineUpdate, proxyActivities, setHandler } from '@temporalio/workflow';

export const bareStepUpdate = defineUpdate<number, [number]>('step');

const { touch } = proxyActivities<{ touch(id: number, step: number): Promise<void> }>({
  startToCloseTimeout: '30 seconds',
});

export async function bareChain(id: number): Promise<number> {
  let done = 0;
  setHandler(bareStepUpdate, async (n: number) => {
    await touch(id, n);
    done = Math.max(done, n);
    return done;
  });
  await condition(() => done >= 4);
  await condition(allHandlersFinished);
  return done;
}
