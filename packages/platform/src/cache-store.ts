// The one cache interface both layers use (subgraph entities, gateway responses): get, set with a
// TTL, delete, and purge by tag. Race safety lives here, not in the callers: every purge takes a
// number from the store's clock, and a value read from the database before a purge of one of its
// tags is refused at set time (atomically, so a purge cannot slip between the check and the write).
// See docs/adr/0001-cache-invalidation.md.

export interface CacheEntry {
  /** The logical key; the store adds its prefix. */
  key: string;
  value: string;
  /** Always set: nothing in the cache lives forever. */
  ttlMs: number;
  /** What the value was built from (`Product:42`, `Product:list`, ...): purging any of them removes it. */
  tags: readonly string[];
  /** The store's clock() taken before the data was read: a purge of a tag after that refuses the set. */
  readStartedAt: number;
}

export interface CacheStore {
  /** Monotonic across every process that shares the store; read it before reading data that will be cached. */
  clock(): Promise<number>;
  /** Values by logical key, null where absent or expired. */
  get(keys: readonly string[]): Promise<Array<string | null>>;
  /** Writes the entry unless one of its tags was purged after `readStartedAt`; true when written. */
  set(entry: CacheEntry): Promise<boolean>;
  delete(keys: readonly string[]): Promise<void>;
  /** Removes every entry carrying one of the tags, and refuses later sets of values read before now. */
  purge(tags: readonly string[]): Promise<void>;
  /** Round trip to the backend (readiness reports). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Keys are namespaced by a required prefix so several graphs (or tests) can share one Redis. */
export function checkPrefix(prefix: string): string {
  if (!/^[\w.-]{1,64}$/.test(prefix)) throw new Error(`cache prefix must be 1-64 word characters, got ${JSON.stringify(prefix)}`);
  return prefix;
}

export function checkEntry(entry: CacheEntry): void {
  if (!(entry.ttlMs > 0 && Number.isFinite(entry.ttlMs))) throw new Error(`cache entry ${entry.key}: a positive TTL is required`);
}

/**
 * How long a tag's purge mark is kept: longer than any read can take (subgraph timeouts and retries
 * are seconds), so a read that began before the purge always finds the mark when it tries to set.
 */
export const PURGE_MARK_TTL_MS = 10 * 60_000;
