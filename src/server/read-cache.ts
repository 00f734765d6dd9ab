/**
 * @module A short-lived cache of serialised answers for hot reads (the inbox). Entries expire after a
 * few seconds and all are dropped on any change the loop announces, so a change made through this
 * server shows at once and one made by another process (the CLI) within the time-to-live.
 */

export class ReadCache {
  private readonly entries = new Map<string, { at: number; tag: string; value: Promise<string> }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** The cached value of `key`, or `compute()`'s (shared by concurrent callers). `tag` groups entries for `drop`. */
  get(key: string, tag: string, compute: () => Promise<string>): Promise<string> {
    const t = this.now();
    const hit = this.entries.get(key);
    if (hit && t - hit.at < this.ttlMs) return hit.value;
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    const value = compute();
    this.entries.set(key, { at: t, tag, value });
    // A failed computation must not be served from the cache.
    value.catch(() => {
      if (this.entries.get(key)?.value === value) this.entries.delete(key);
    });
    return value;
  }

  /** Drops everything (something changed that may concern anyone). */
  clear(): void {
    this.entries.clear();
  }

  /** Drops the entries whose tag matches (something changed that concerns only them). */
  drop(match: (tag: string) => boolean): void {
    for (const [k, e] of this.entries) if (match(e.tag)) this.entries.delete(k);
  }

  get size(): number {
    return this.entries.size;
  }
}
