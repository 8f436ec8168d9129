/**
 * A small cache whose entries expire after `ttlMs`: what may be a few seconds stale (who a session belongs to,
 * an organisation's addresses) read once per few seconds instead of once per request. Concurrent misses for one key
 * share a single load; a failed load is not kept. Bounded: the oldest entries go first beyond `maxEntries`.
 */
export class TtlCache<K, V> {
  private readonly entries = new Map<K, { value: Promise<V>; expires: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  get(key: K, load: () => Promise<V>): Promise<V> {
    const t = this.now();
    const hit = this.entries.get(key);
    if (hit && hit.expires > t) return hit.value;
    if (hit) this.entries.delete(key);
    const value = load();
    this.entries.set(key, { value, expires: t + this.ttlMs });
    value.catch(() => {
      if (this.entries.get(key)?.value === value) this.entries.delete(key);
    });
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as K);
    return value;
  }

  /** Whether an unexpired entry (loaded or loading) is kept for `key`. */
  has(key: K): boolean {
    const hit = this.entries.get(key);
    return !!hit && hit.expires > this.now();
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  /** Drops every entry for which `match` is true (e.g. every session of a user who was disabled here). */
  deleteWhere(match: (key: K) => boolean): void {
    for (const k of [...this.entries.keys()]) if (match(k)) this.entries.delete(k);
  }

  clear(): void {
    this.entries.clear();
  }
}
