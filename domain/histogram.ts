// Durations as histograms of whole minutes, so statistics over millions of decided stages are kept incrementally
// (a row per stage and organisation, StageRollup) instead of sorted on every request. The same bucketing exists in
// SQL (function xueji_minute_bucket, migration stage_rollup) for rebuilding; a test keeps the two equal.
//
// Buckets: one per minute below 64 minutes; above, 16 per doubling (64–67.99 min, 68–71.99 …). A value read back is
// the middle of its bucket: exact to the minute below an hour, and within 1/32 (3.2 %) of the true value above —
// e.g. ±22 minutes at 12 hours, ±7 hours at 10 days. Stages longer than 2^21 minutes (4 years) share the last bucket.

export type Histogram = Record<string, number>;

const EXACT_BELOW = 64;
const PER_DOUBLING = 16;
const MAX_EXPONENT = 20;

/** The bucket of a duration in whole minutes (negative durations, clock skew, count as 0). */
export function minuteBucket(minutes: number): number {
  const m = Math.max(0, Math.floor(minutes));
  if (m < EXACT_BELOW) return m;
  const e = Math.min(Math.floor(Math.log2(m)), MAX_EXPONENT);
  const sub = Math.min(Math.floor((m / 2 ** e - 1) * PER_DOUBLING), PER_DOUBLING - 1);
  return EXACT_BELOW + (e - 6) * PER_DOUBLING + sub;
}

/** [low, high) in minutes of a bucket. */
export function bucketRange(bucket: number): [number, number] {
  if (bucket < EXACT_BELOW) return [bucket, bucket + 1];
  const e = 6 + Math.floor((bucket - EXACT_BELOW) / PER_DOUBLING);
  const sub = (bucket - EXACT_BELOW) % PER_DOUBLING;
  return [2 ** e * (1 + sub / PER_DOUBLING), 2 ** e * (1 + (sub + 1) / PER_DOUBLING)];
}

/** A duration in milliseconds as the whole minutes its bucket is chosen by (rounded to the nearest minute). */
export const durationMinutes = (ms: number) => Math.round(ms / 60_000);

/** The sum of histograms (e.g. every organisation's, for a stage). */
export function mergeHistograms(into: Histogram, h: Histogram): Histogram {
  for (const [b, n] of Object.entries(h)) into[b] = (into[b] ?? 0) + n;
  return into;
}

/**
 * The p-quantile (0 < p ≤ 1) in minutes: the nearest-rank value's bucket, read as its middle (an exact minute below
 * an hour). Null for an empty histogram.
 */
export function quantileMinutes(h: Histogram, p: number): number | null {
  const buckets = Object.entries(h)
    .map(([b, n]) => [Number(b), n] as const)
    .filter(([, n]) => n > 0)
    .sort((x, y) => x[0] - y[0]);
  const total = buckets.reduce((s, [, n]) => s + n, 0);
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(p * total));
  let seen = 0;
  for (const [b, n] of buckets) {
    seen += n;
    if (seen >= rank) {
      const [lo, hi] = bucketRange(b);
      return b < EXACT_BELOW ? lo : (lo + hi) / 2;
    }
  }
  return null;
}
