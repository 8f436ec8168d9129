// The statistics roll-up (StageRollup), kept in the same transactions that move cases: a stage opened (+1 open), a
// stage decided (−1 open, −1 overdue if it was, +1 decided and its minutes in the histogram), a stage past its due
// time (+1 overdue) or extended again (−1 overdue), a case withdrawn or cancelled at a stage (−1 open …).
// infra/read-model.ts recomputes the same figures from the cases; test/stats.test.ts compares the two.
import { durationMinutes, minuteBucket } from '../domain/histogram';
import { STAGES, type Stage } from '../domain/types';
import type { RawSql } from './sql';

export interface RollupChange {
  stage: Stage;
  orgCode: string;
  open?: number;
  overdue?: number;
  /** A decided stage: how long it was open, in milliseconds. */
  decidedAfterMs?: number;
}

/**
 * Applies the changes in one statement (an upsert of one row per stage and organisation), always in the same order
 * (stage, then code) so two transactions touching the same rows never wait on each other in a cycle. Changes to the
 * same row are added together first (one upsert may touch a row once).
 */
export async function applyRollup(tx: RawSql, changes: RollupChange[]): Promise<void> {
  const order = (c: { stage: Stage; orgCode: string }) =>
    `${STAGES.indexOf(c.stage).toString().padStart(2, '0')}:${c.orgCode}`;
  const rows = new Map<
    string,
    { stage: Stage; orgCode: string; open: number; overdue: number; decided: number; histogram: Record<string, number> }
  >();
  for (const c of changes) {
    const key = order(c);
    const row = rows.get(key) ?? { stage: c.stage, orgCode: c.orgCode, open: 0, overdue: 0, decided: 0, histogram: {} };
    row.open += c.open ?? 0;
    row.overdue += c.overdue ?? 0;
    if (c.decidedAfterMs !== undefined) {
      const bucket = String(minuteBucket(durationMinutes(c.decidedAfterMs)));
      row.decided += 1;
      row.histogram[bucket] = (row.histogram[bucket] ?? 0) + 1;
    }
    rows.set(key, row);
  }
  if (rows.size === 0) return;
  const sorted = [...rows.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, r]) => r);
  await tx.$executeRaw`
    insert into "StageRollup" as r (stage, "orgCode", open, overdue, decided, histogram)
    select c.stage::"Stage", c."orgCode", c.open, c.overdue, c.decided, c.histogram
      from jsonb_to_recordset(${JSON.stringify(sorted)}::jsonb)
           as c(stage text, "orgCode" text, open int, overdue int, decided int, histogram jsonb)
    on conflict (stage, "orgCode") do update set
      open = r.open + excluded.open,
      overdue = r.overdue + excluded.overdue,
      decided = r.decided + excluded.decided,
      histogram = r.histogram || coalesce(
        (select jsonb_object_agg(h.key, coalesce((r.histogram ->> h.key)::int, 0) + h.value::int)
           from jsonb_each_text(excluded.histogram) h),
        '{}'::jsonb)`;
}
