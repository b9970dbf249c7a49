// Where on the primary's WAL the newest write that purged each cache tag ended, shared by every
// process of a subgraph (Redis), so a read on any of them can tell whether a replica has replayed
// it. One sorted set per subgraph: member = tag, score = the WAL position read after the write's
// commit (kept as the highest). A reader asks for the tags written after its replica's replay
// position: one command, answered from a set that holds only what some replica has not replayed
// yet (the rest is trimmed), so it is small whatever the traffic.
import type { RedisClient } from '@commerce/platform/redis-client';
import { within } from '@commerce/platform/within';

/**
 * A WAL position (`16/B374D848`) as a number of bytes. Exact below 2^53 bytes of WAL (8 PiB),
 * which a cluster does not write in its lifetime; Redis scores are doubles, so this is also what
 * the sorted set can hold exactly.
 */
export function parseLsn(text: string): number {
  const match = /^([0-9A-F]{1,8})\/([0-9A-F]{1,8})$/i.exec(text.trim());
  if (!match) throw new Error(`not a WAL position: ${text}`);
  return parseInt(match[1] as string, 16) * 2 ** 32 + parseInt(match[2] as string, 16);
}

export const formatLsn = (lsn: number): string => `${Math.floor(lsn / 2 ** 32).toString(16).toUpperCase()}/${(lsn % 2 ** 32).toString(16).toUpperCase()}`;

export interface WalPositions {
  /** After a write has committed: the tags it purges were written by then (`lsn`, the primary's WAL after the commit). */
  record(tags: readonly string[], lsn: number): Promise<void>;
  /**
   * The tags written after `lsn` (exclusive). Null when that cannot be known: the store did not
   * answer, positions at or above `lsn` were already trimmed, or more were written than a reader
   * should look through (see SINCE_LIMIT).
   */
  since(lsn: number): Promise<ReadonlySet<string> | null>;
  /** Forgets the positions below `lsn` (every replica still serving reads has replayed them). */
  trim(lsn: number): Promise<void>;
  /**
   * A store without a trim mark (new, flushed, evicted, or a process that restarted) cannot say what
   * was written before now: marks it trimmed at `lsn` (the primary's position now), so readers
   * further behind go to the primary. A store that has its mark keeps it.
   */
  mark(lsn: number): Promise<void>;
}

/**
 * A reader looks through at most this many tags written since its replica's replay position; past
 * that (over ~1,000 writes in one replica's lag) it reads from the primary instead.
 */
export const SINCE_LIMIT = 2000;

/** The member that carries the trim mark: positions below its score are gone. Tags never start with `~`. */
const TRIMMED = '~trimmed';
/**
 * At +inf, set with the first mark: a set without it lost its positions (flushed, evicted) or was
 * recreated by a write since, and knows nothing until marked again.
 */
const PRESENT = '~present';

/** Positions outlive any lag a replica may serve reads with (REPLICA_MAX_LAG_MS is at most a minute). */
const KEY_TTL_MS = 10 * 60_000;

/** One process's positions (a subgraph that runs as one process without Redis). */
export class MemoryWalPositions implements WalPositions {
  private readonly positions = new Map<string, number>();
  /** Nothing is known until the first mark (what was written before this process started is not). */
  private trimmed = Number.POSITIVE_INFINITY;
  private marked = false;

  async mark(lsn: number): Promise<void> {
    if (this.marked) return;
    this.marked = true;
    this.trimmed = lsn;
  }

  async record(tags: readonly string[], lsn: number): Promise<void> {
    for (const tag of tags) if ((this.positions.get(tag) ?? -1) < lsn) this.positions.set(tag, lsn);
  }

  async since(lsn: number): Promise<ReadonlySet<string> | null> {
    return this.peek(lsn);
  }

  /** The same answer as since(), at once (nothing to wait for in memory). */
  peek(lsn: number): ReadonlySet<string> | null {
    if (lsn < this.trimmed) return null;
    const written = new Set<string>();
    for (const [tag, at] of this.positions) if (at > lsn) written.add(tag);
    return written.size > SINCE_LIMIT ? null : written;
  }

  async trim(lsn: number): Promise<void> {
    if (!this.marked || lsn <= this.trimmed) return;
    this.trimmed = lsn;
    for (const [tag, at] of this.positions) if (at < lsn) this.positions.delete(tag);
  }
}

/** After a failure or a timeout, Redis is not asked for this long (reads go to the primary meanwhile). */
const SKIP_AFTER_FAILURE_MS = 250;

/**
 * Positions in a Redis sorted set. Every call is bounded by `timeoutMs`; a failure makes the store
 * skip Redis for a moment (reads then go to the primary: unknown positions are never guessed).
 */
export class RedisWalPositions implements WalPositions {
  private downUntil = 0;

  constructor(
    private readonly client: RedisClient,
    private readonly key: string,
    private readonly timeoutMs: number,
  ) {}

  async record(tags: readonly string[], lsn: number): Promise<void> {
    if (tags.length === 0) return;
    // GT: a slower writer with an older position never lowers a tag's newest one.
    await this.attempt(
      this.client.multi().zAdd(this.key, tags.map((tag) => ({ score: lsn, value: tag })), { comparison: 'GT' }).pExpire(this.key, KEY_TTL_MS).exec(),
      Math.max(500, this.timeoutMs),
    );
  }

  async since(lsn: number): Promise<ReadonlySet<string> | null> {
    if (Date.now() < this.downUntil) return null;
    try {
      // One command: the tags above lsn, with the trim mark if it is above lsn too, and the
      // presence mark (at +inf, so always in range) unless the positions were lost.
      const found = await this.attempt(this.client.zRangeByScore(this.key, `(${lsn}`, '+inf', { LIMIT: { offset: 0, count: SINCE_LIMIT + 3 } }), this.timeoutMs);
      const tags = found.map(String);
      if (tags.at(-1) !== PRESENT || tags.includes(TRIMMED) || tags.length > SINCE_LIMIT + 1) return null;
      tags.pop();
      return new Set(tags);
    } catch {
      return null;
    }
  }

  async mark(lsn: number): Promise<void> {
    // NX: only where there is no mark; one that exists says the positions above it are all here.
    await this.attempt(
      this.client.multi().zAdd(this.key, [{ score: lsn, value: TRIMMED }, { score: Number.POSITIVE_INFINITY, value: PRESENT }], { condition: 'NX' }).pExpire(this.key, KEY_TTL_MS).exec(),
      Math.max(500, this.timeoutMs),
    );
  }

  async trim(lsn: number): Promise<void> {
    // The mark first (GT: never lowered by a trimmer that saw an older replay position), then the
    // positions below it, in one transaction: whoever reads sees either both or neither.
    await this.attempt(
      this.client.multi().zAdd(this.key, [{ score: lsn, value: TRIMMED }], { comparison: 'GT' }).zRemRangeByScore(this.key, '-inf', `(${lsn}`).pExpire(this.key, KEY_TTL_MS).exec(),
      Math.max(500, this.timeoutMs),
    );
  }

  private async attempt<T>(work: Promise<T>, ms: number): Promise<T> {
    try {
      return await within(work, ms, 'redis');
    } catch (error) {
      this.downUntil = Date.now() + SKIP_AFTER_FAILURE_MS;
      throw error;
    }
  }
}
