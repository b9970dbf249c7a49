// The cache as callers see it: it never throws and never makes a request wait more than a few tens
// of milliseconds. A store that fails or answers too slowly is skipped (a bypass) for a short
// while, then tried again; the Redis client reconnects by itself meanwhile. Purges that fail are
// kept (owed) and retried until they succeed, and until then this process does not read from the
// cache, since entries it should have removed may still be there. A purge merely under way does
// not stop reads: a read meanwhile is concurrent with the write being purged (whose caller is
// answered only once the purge is through), and a fill it makes is refused by the purge's mark.
// Stopping them made a subgraph under a stream of writes, always purging something, bypass its
// cache nearly all the time.
import type { CacheEntry, CacheStore } from './cache-store.js';
import type { Logger } from './logger.js';
import { within } from './within.js';

export interface FailOpenOptions {
  /** Longest wait for a read or a set, in milliseconds. */
  timeoutMs: number;
  /** Longest wait for a purge or a set (nobody waits on a set; a purge is on the write path). */
  purgeTimeoutMs?: number;
  /** How long to skip the store after a failure before trying it again. */
  retryAfterMs?: number;
  logger?: Logger;
}

export class FailOpenCache {
  private downUntil = 0;
  /** Tags whose purge failed (with when, as a count of failures): retried, and no read until they are through. */
  private readonly owedPurges = new Map<string, number>();
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly purgeTimeoutMs: number;
  private readonly retryAfterMs: number;

  constructor(readonly store: CacheStore, private readonly options: FailOpenOptions) {
    this.purgeTimeoutMs = options.purgeTimeoutMs ?? Math.max(500, options.timeoutMs);
    this.retryAfterMs = options.retryAfterMs ?? 1000;
  }

  /** False while the store is being skipped or purges are still owed to it. */
  get available(): boolean {
    return Date.now() >= this.downUntil && this.owedPurges.size === 0;
  }

  /** The store's clock, or null: then nothing read now may be written to the cache. */
  clock(): Promise<number | null> {
    return this.attempt(() => this.store.clock(), this.options.timeoutMs);
  }

  /** Values by key, or null when the cache cannot be consulted now (a bypass). */
  get(keys: readonly string[]): Promise<Array<string | null> | null> {
    return this.attempt(() => this.store.get(keys), this.options.timeoutMs);
  }

  /**
   * True when written; false when refused (a purge of one of its tags came after the read began);
   * null when the store was skipped or failed. Nobody waits for a set, so it gets the longer
   * timeout: a busy moment should not trip the bypass.
   */
  set(entry: CacheEntry): Promise<boolean | null> {
    return this.attempt(() => this.store.set(entry), this.purgeTimeoutMs);
  }

  /**
   * Purges now if it can; otherwise remembers the tags and retries in the background. Resolves
   * either way: a write that has committed is never failed by the cache.
   */
  async purge(tags: readonly string[]): Promise<boolean> {
    if (tags.length === 0) return true;
    return this.flushPurges(tags);
  }

  async close(): Promise<void> {
    clearTimeout(this.retryTimer);
    await this.store.close().catch(() => {});
  }

  /** Purges these tags and whatever is owed; what fails is owed, and retried after a while. */
  private async flushPurges(given: readonly string[] = []): Promise<boolean> {
    // What is owed now: a failure after this snapshot owes its tags again, even if this purge succeeds.
    const owed = new Map(this.owedPurges);
    const tags = [...new Set([...given, ...owed.keys()])];
    if (tags.length === 0) return true;
    const done = await within(this.store.purge(tags), this.purgeTimeoutMs, 'cache').then(
      () => true,
      (error: unknown) => {
        this.options.logger?.warn({ err: String(error), tags: tags.length }, 'cache purge failed; retrying in the background');
        return false;
      },
    );
    if (done) {
      for (const tag of tags) if (this.owedPurges.get(tag) === owed.get(tag)) this.owedPurges.delete(tag);
      return true;
    }
    const failure = ++this.failures;
    for (const tag of tags) this.owedPurges.set(tag, failure);
    this.downUntil = Date.now() + this.retryAfterMs;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.flushPurges(), this.retryAfterMs);
    this.retryTimer.unref();
    return false;
  }

  private async attempt<T>(operation: () => Promise<T>, timeoutMs: number): Promise<T | null> {
    if (!this.available) return null;
    try {
      return await within(operation(), timeoutMs, 'cache');
    } catch (error) {
      if (Date.now() >= this.downUntil) this.options.logger?.warn({ err: String(error) }, 'cache unavailable; bypassing it for now');
      this.downUntil = Date.now() + this.retryAfterMs;
      return null;
    }
  }
}
