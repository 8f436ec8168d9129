// The statistics roll-up (StageRollup), kept in the same transactions that move cases: a stage opened (+1 open), a
// stage decided (−1 open, −1 overdue if it was, +1 decided and its minutes in the histogram), a stage past its due
// time (+1 overdue) or extended again (−1 overdue), a case withdrawn or cancelled at a stage (−1 open …).
// infra/read-model.ts recomputes the same figures from the cases; test/stats.test.ts compares the two.
import type { Prisma } from '../generated/prisma/client';
import { durationMinutes, minuteBucket } from '../domain/histogram';
import { STAGES, type Stage } from '../domain/types';

type Tx = Prisma.TransactionClient;

export interface RollupChange {
  stage: Stage;
  orgCode: string;
  open?: number;
  overdue?: number;
  /** A decided stage: how long it was open, in milliseconds. */
  decidedAfterMs?: number;
}

/**
 * Applies the changes, one upsert per (stage, organisation), always in the same order (stage, then code) so two
 * transactions touching the same rows never wait on each other in a cycle.
 */
export async function applyRollup(tx: Tx, changes: RollupChange[]): Promise<void> {
  const order = (c: RollupChange) => `${STAGES.indexOf(c.stage).toString().padStart(2, '0')}:${c.orgCode}`;
  for (const c of [...changes].sort((a, b) => order(a).localeCompare(order(b)))) {
    const open = c.open ?? 0;
    const overdue = c.overdue ?? 0;
    const bucket = c.decidedAfterMs === undefined ? null : String(minuteBucket(durationMinutes(c.decidedAfterMs)));
    const decided = bucket === null ? 0 : 1;
    const histogram = bucket === null ? '{}' : JSON.stringify({ [bucket]: 1 });
    await tx.$executeRaw`
      insert into "StageRollup" (stage, "orgCode", open, overdue, decided, histogram)
      values (${c.stage}::"Stage", ${c.orgCode}, ${open}, ${overdue}, ${decided}, ${histogram}::jsonb)
      on conflict (stage, "orgCode") do update set
        open = "StageRollup".open + ${open},
        overdue = "StageRollup".overdue + ${overdue},
        decided = "StageRollup".decided + ${decided},
        histogram = case when ${bucket}::text is null then "StageRollup".histogram
          else jsonb_set("StageRollup".histogram, array[${bucket}::text],
                         to_jsonb(coalesce(("StageRollup".histogram ->> ${bucket}::text)::int, 0) + 1)) end`;
  }
}
