// Retry policies of the workflow's activities, shared with the worker's failure record (activities/failures.ts),
// which estimates the next attempt from them. Pure: imported by the workflow bundle.

export interface Backoff {
  initialIntervalMs: number;
  backoffCoefficient: number;
  maximumIntervalMs: number;
}

/**
 * The short database writes a case's messages make (local activities): retried without limit — a database outage
 * must not lose a decision — quickly at first, then every 30 s, so a repaired case resumes within half a minute.
 */
export const WRITE_RETRY: Backoff = { initialIntervalMs: 500, backoffCoefficient: 2, maximumIntervalMs: 30_000 };

/** The ordinary activities of cases started before the lean workflow (v4 and older histories). */
export const LEGACY_RETRY: Backoff = { initialIntervalMs: 1_000, backoffCoefficient: 2, maximumIntervalMs: 60_000 };

/** After the `attempt`-th failure, how long until the next attempt. */
export const nextRetryDelayMs = (b: Backoff, attempt: number): number =>
  Math.min(b.maximumIntervalMs, b.initialIntervalMs * b.backoffCoefficient ** Math.max(0, attempt - 1));
