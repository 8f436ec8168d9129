import { patched } from '@temporalio/workflow';
import { leanCase } from './lean';
import { legacyCase } from './legacy';
import type { ApplicationWorkflowInput, ApplicationWorkflowResult } from './messages';

/** Cases started before this marker have no time limits, reminders or mail; their histories replay unchanged. */
export const DEADLINES_PATCH = 'stage-deadlines';
/**
 * Cases started with this marker write through local activities, get their mail from the outbox rows their writes
 * add, and take their state from what each write reports from Postgres (workflows/lean.ts).
 */
export const LEAN_PATCH = 'lean-writes';

/**
 * One durable workflow per application, for every change type. Approval cases live for weeks, so the code of every
 * version a running case may have started on stays here and replays its history (workflows/__histories__, replayed in
 * the test suite): the markers recorded when a case started say which body it runs.
 */
export async function applicationWorkflow(input: ApplicationWorkflowInput): Promise<ApplicationWorkflowResult> {
  const timed = patched(DEADLINES_PATCH);
  if (timed && patched(LEAN_PATCH)) return leanCase(input);
  return legacyCase(input, timed);
}
