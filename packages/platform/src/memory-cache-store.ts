// The in-process cache store: the embedded graph (`npm start`) passes one instance to all four
// services, so a purge by a subgraph is seen by the gateway at once. Same semantics as the Redis
// store (each method runs to completion without awaiting, so it is atomic in this process).
import { type CacheEntry, type CacheStore, checkEntry, checkPrefix, PURGE_MARK_TTL_MS } from './cache-store.js';

interface Stored {
  value: string;
  expiresAt: number;
  tags: readonly string[];
}

export class MemoryCacheStore implements CacheStore {
  private readonly entries = new Map<string, Stored>();
  private readonly tagged = new Map<string, Set<string>>();
  private readonly purgedAt = new Map<string, { seq: number; expiresAt: number }>();
  private seq = 0;
  private readonly prefix: string;

  constructor(prefix: string, private readonly maxEntries = 50_000, private readonly now: () => number = Date.now) {
    this.prefix = `${checkPrefix(prefix)}:`;
  }

  async clock(): Promise<number> {
    return this.seq;
  }

  async get(keys: readonly string[]): Promise<Array<string | null>> {
    return keys.map((key) => this.live(this.prefix + key)?.value ?? null);
  }

  async set(entry: CacheEntry): Promise<boolean> {
    checkEntry(entry);
    for (const tag of entry.tags) {
      const mark = this.purgedAt.get(tag);
      if (mark && mark.expiresAt > this.now() && mark.seq > entry.readStartedAt) return false;
    }
    const key = this.prefix + entry.key;
    this.remove(key);
    // Map order is insertion order: the first entry is the oldest write.
    if (this.entries.size >= this.maxEntries) this.remove(this.entries.keys().next().value as string);
    this.entries.set(key, { value: entry.value, expiresAt: this.now() + entry.ttlMs, tags: entry.tags });
    for (const tag of entry.tags) {
      const keys = this.tagged.get(tag) ?? new Set<string>();
      keys.add(key);
      this.tagged.set(tag, keys);
    }
    return true;
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (const key of keys) this.remove(this.prefix + key);
  }

  async purge(tags: readonly string[]): Promise<void> {
    const seq = ++this.seq;
    const expiresAt = this.now() + PURGE_MARK_TTL_MS;
    for (const tag of tags) {
      this.purgedAt.set(tag, { seq, expiresAt });
      for (const key of this.tagged.get(tag) ?? []) this.remove(key);
      this.tagged.delete(tag);
    }
    if (this.purgedAt.size > this.maxEntries) this.sweepMarks();
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    this.entries.clear();
    this.tagged.clear();
    this.purgedAt.clear();
  }

  /** Live entries (tests and metrics). */
  get size(): number {
    return this.entries.size;
  }

  private live(key: string): Stored | undefined {
    const stored = this.entries.get(key);
    if (stored && stored.expiresAt <= this.now()) {
      this.remove(key);
      return undefined;
    }
    return stored;
  }

  private remove(key: string): void {
    const stored = this.entries.get(key);
    if (!stored) return;
    this.entries.delete(key);
    for (const tag of stored.tags) {
      const keys = this.tagged.get(tag);
      keys?.delete(key);
      if (keys?.size === 0) this.tagged.delete(tag);
    }
  }

  private sweepMarks(): void {
    const now = this.now();
    for (const [tag, mark] of this.purgedAt) if (mark.expiresAt <= now) this.purgedAt.delete(tag);
  }
}
