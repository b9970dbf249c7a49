// Reads on streaming replicas without stale reads (ADR 0005). A read that names what it reads (its
// cache tags, and the tags of the rows it returns) may run on a replica; the driver adapter sends
// its SELECTs there (database.ts: only reads outside transactions, never a write, a locking read
// or a `… RETURNING` statement). The answer is kept only if the replica had replayed the newest
// write that purged any of those tags: every write records, after its commit and before its purge,
// the primary's WAL position with the tags it purges (wal-positions.ts, shared by every process of
// the subgraph), and the reader compares it with the replica's replay position. Otherwise, or when
// no replica is healthy, the read runs on the primary. A cache filled from a read is filled from an
// answer that passed this check, so it never puts an old value back after a purge.
import { AsyncLocalStorage } from 'node:async_hooks';
import { inBackground, runInBackground } from '@commerce/messaging/background';
import { withoutDeadline } from '@commerce/platform/deadline';
import type { Logger } from '@commerce/platform/logger';
import type { Counter, Gauge } from 'prom-client';
import { MemoryWalPositions, type WalPositions } from './wal-positions.js';

/** Primary positions kept for measuring lag (one per probe). */
const PRIMARY_HISTORY = 30;

/** Positions are trimmed to where the replicas were this many probe intervals ago. */
const TRIM_BEHIND_PROBES = 3;

/** What the database knows how to ask its servers (database.ts). */
export interface ReplicaLink {
  /** How many replicas there are (indexes 0..count-1; metrics and /ready name them by index, never by URL). */
  readonly count: number;
  /**
   * The primary's WAL insert position: where the next record goes, so past every commit that has
   * returned, whatever synchronous_commit says (the write position may still be short of a commit
   * acknowledged with synchronous_commit = off). A write's position, read after its commit.
   */
  commitPosition(): Promise<number>;
  /** The primary's write position (for lag: what a replica can have received), insert position, and system identifier. */
  primary(): Promise<{ written: number; inserted: number; system: string }>;
  /** A replica's replay position, the age of its last replayed transaction and its system identifier; throws when it is unreachable or not a replica. */
  probe(index: number): Promise<{ replayed: number; ageMs: number; system: string }>;
}

/** The read in progress, for the adapter: which replica to send its SELECTs to. */
export interface ReadScope {
  readonly replica: number;
  /** A statement failed on the replica (the adapter then sends it to the primary). */
  failed(error: unknown): void;
}

/** Set by ReadRouter.read around a read; the routing adapter (database.ts) looks here. */
export const readScope = new AsyncLocalStorage<ReadScope>();

export type ReplicaState = 'starting' | 'ok' | 'lagging' | 'down';

/** Why a read that could have used a replica ran on the primary (db_replica_fallbacks_total{reason}). */
export type FallbackReason = 'down' | 'lagging' | 'unreplayed_write' | 'positions_unknown' | 'replica_error';

/** What is known about write positions: the tags written since a replay position, or null (unknown). */
type Written = ReadonlySet<string> | null;

/** A read's replica and the positions asked for it (ReadRouter.prepare), or why it goes to the primary. */
export type PreparedRead = { readonly replica: Replica; readonly written: Promise<Written> | Written } | { readonly replica: null; readonly reason: FallbackReason };

export interface ReadRouterOptions {
  link: ReplicaLink;
  /** Where writes leave their positions; shared by every process of the subgraph (Redis), else memory. */
  positions?: WalPositions;
  /** REPLICA_MAX_LAG_MS: a replica further behind gets no reads until it catches up. */
  maxLagMs: number;
  lag: Gauge<'replica'>;
  fallbacks: Counter<'reason'>;
  logger: Logger;
  /** How often each replica's lag is measured (and positions trimmed). */
  probeIntervalMs?: number;
  /** A replica's replay position is asked again, off the read's path, when older than this. */
  replayFreshMs?: number;
}

/** One replica as this process sees it. */
export interface Replica {
  readonly index: number;
  state: ReplicaState;
  /** Replay position as last seen (only grows: replay never goes back). */
  replayed: number;
  seenAt: number;
  lagMs: number;
  /** The lag measured at seenAt (a replica that is away falls further behind from there). */
  lagSeenMs: number;
  refreshing: Promise<void> | null;
}

/** The primary's WAL position after a commit, read once for every write that asked meanwhile (see position()). */
class CommitPositions {
  private running: Promise<number> | null = null;
  private next: Promise<number> | null = null;

  constructor(private readonly read: () => Promise<number>) {}

  /**
   * A position read after the caller's commit. A read already in flight may have been sent before
   * that commit, so a caller arriving meanwhile waits for the next one, which every caller arriving
   * during the same flight shares: under load, one statement serves many writes.
   */
  position(): Promise<number> {
    if (!this.running) {
      const running = this.read().finally(() => {
        if (this.running === running) this.running = null;
      });
      this.running = running;
      return running;
    }
    this.next ??= this.running.catch(() => 0).then(() => {
      this.next = null;
      return this.position();
    });
    return this.next;
  }
}

export class ReadRouter {
  private readonly replicas: Replica[];
  private readonly positions: WalPositions;
  private readonly commits: CommitPositions;
  private readonly probeIntervalMs: number;
  private readonly replayFreshMs: number;
  private turn = 0;
  /** The primary's write position at the last probes, for lag (see lagOf). */
  private readonly primarySeen: Array<{ at: number; written: number }> = [];
  /** The primary's system identifier: a replica must have the same (it is a copy of that cluster). */
  private system: string | null = null;
  /** The lowest replay position of the serving replicas at each probe, for trimming (see measure()). */
  private readonly replayedAt: Array<{ at: number; lsn: number }> = [];
  private timer: NodeJS.Timeout | undefined;
  private cycle: Promise<void> | null = null;
  private stopped = false;

  constructor(private readonly options: ReadRouterOptions) {
    this.positions = options.positions ?? new MemoryWalPositions();
    this.replicas = Array.from({ length: options.link.count }, (_, index) => ({ index, state: 'starting' as ReplicaState, replayed: 0, seenAt: 0, lagMs: 0, lagSeenMs: 0, refreshing: null }));
    // Counted as its writer's statement (sql_statements_total), but free of the request's deadline:
    // the write has committed, and its position must be recorded whatever time is left.
    this.commits = new CommitPositions(() => withoutDeadline(() => options.link.commitPosition()));
    this.probeIntervalMs = options.probeIntervalMs ?? 1000;
    this.replayFreshMs = options.replayFreshMs ?? 50;
    for (const replica of this.replicas) options.lag.set({ replica: String(replica.index) }, 0);
    for (const reason of ['down', 'lagging', 'unreplayed_write', 'positions_unknown', 'replica_error'] as const) options.fallbacks.inc({ reason }, 0);
  }

  /** Measures every replica once (at start, so the first reads know where they stand), then every probeIntervalMs. */
  async start(): Promise<void> {
    await this.measure();
    const tick = () => {
      if (this.stopped) return;
      this.timer = setTimeout(() => void this.measure().finally(tick), this.probeIntervalMs);
      this.timer.unref();
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.cycle?.catch(() => {});
    await Promise.all(this.replicas.map((replica) => replica.refreshing?.catch(() => {})));
  }

  /**
   * Picks the replica for a read about to be made and asks for the positions written since its
   * replay position, now: a caller that talks to Redis anyway just before the read (the entity
   * cache's lookup) sends both in the same round trip. Null in background work (the read goes to
   * the primary, uncounted); without a healthy replica, the reason it goes to the primary.
   */
  prepare(): PreparedRead | null {
    if (inBackground()) return null;
    const replica = this.pick();
    if (!replica) return { replica: null, reason: this.replicas.some((r) => r.state === 'lagging') ? 'lagging' : 'down' };
    const replayed = replica.replayed;
    if (Date.now() - replica.seenAt > this.replayFreshMs) this.refresh(replica);
    const written = this.positions instanceof MemoryWalPositions ? this.positions.peek(replayed) : this.positions.since(replayed);
    if (written instanceof Promise) written.catch(() => {});
    return { replica, written };
  }

  /**
   * Runs `fetch` (a read, safe to send twice) on a replica if that replica has replayed every write
   * that purged one of `tags` or of `resultTags(answer)`; else on the primary. Background work
   * (relay, consumers) and reads outside any scope always use the primary.
   */
  async read<T>(tags: readonly string[], fetch: () => Promise<T>, resultTags?: (answer: T) => Iterable<string>, prepared: PreparedRead | null = this.prepare()): Promise<T> {
    if (!prepared) return fetch();
    if (prepared.replica === null) return this.onPrimary(fetch, prepared.reason);
    const { replica, written } = prepared;
    // Known at once (memory): no replica statement for a read that would not be kept.
    if (!(written instanceof Promise) && !clear(written, tags)) return this.onPrimary(fetch, written === null ? 'positions_unknown' : 'unreplayed_write');
    // The replica's answer and the positions written since its replay position, side by side: the
    // check costs no round trip of its own on the read's path.
    const scope: ReadScope = { replica: replica.index, failed: (error) => this.failed(replica, error) };
    const onReplica = readScope.run(scope, async () => await fetch());
    onReplica.catch(() => {}); // observed below, unless the positions already sent the read elsewhere
    const since = await written;
    if (since === null) return this.onPrimary(fetch, 'positions_unknown');
    if (!clear(since, tags)) return this.onPrimary(fetch, 'unreplayed_write');
    const answer = await onReplica;
    if (resultTags && !clear(since, resultTags(answer))) return this.onPrimary(fetch, 'unreplayed_write');
    return answer;
  }

  /**
   * After a write has committed, before its purge: the primary's WAL position now, recorded for the
   * tags it purges. Never fails the write (it has committed): a position that cannot be recorded
   * is tried again in the background for as long as a replica may serve reads that far behind.
   */
  async recordWrite(tags: readonly string[]): Promise<void> {
    if (tags.length === 0) return;
    try {
      await this.positions.record(tags, await this.commits.position());
    } catch (error) {
      this.options.logger.warn({ err: String(error), tags: tags.length }, 'write position not recorded; retrying in the background');
      void this.retryRecord(tags, Date.now() + this.options.maxLagMs);
    }
  }

  /** For /ready: each replica by index, its state and lag (never its URL). */
  status(): Array<{ replica: number; state: ReplicaState; lagMs: number }> {
    return this.replicas.map((replica) => ({ replica: replica.index, state: replica.state, lagMs: Math.round(replica.lagMs) }));
  }

  private async retryRecord(tags: readonly string[], giveUpAt: number): Promise<void> {
    while (!this.stopped && Date.now() < giveUpAt) {
      await new Promise((resolve) => setTimeout(resolve, 200).unref());
      try {
        await this.positions.record(tags, await this.commits.position());
        return;
      } catch {
        // tried again until giveUpAt: by then no replica that far behind serves reads
      }
    }
    this.options.logger.error({ tags: tags.length }, 'write position never recorded; replicas may serve the previous value until they replay it');
  }

  private onPrimary<T>(fetch: () => Promise<T>, reason: FallbackReason): Promise<T> {
    this.options.fallbacks.inc({ reason });
    return fetch();
  }

  /** The next healthy replica, in turn. */
  private pick(): Replica | undefined {
    const count = this.replicas.length;
    for (let i = 0; i < count; i++) {
      const replica = this.replicas[(this.turn + i) % count] as Replica;
      if (replica.state === 'ok') {
        this.turn = (replica.index + 1) % count;
        return replica;
      }
    }
    return undefined;
  }

  private failed(replica: Replica, error: unknown): void {
    this.options.fallbacks.inc({ reason: 'replica_error' });
    this.options.logger.warn({ replica: replica.index, err: String((error as Error)?.message ?? error) }, 'read failed on a replica; sent to the primary');
    this.refresh(replica); // a replica that is gone is found so by its probe, and gets no reads until it answers again
  }

  /** The replay position asked again off the read's path (one probe at a time per replica). */
  private refresh(replica: Replica): void {
    if (replica.refreshing || this.stopped) return;
    replica.refreshing = runInBackground(async () => {
      try {
        const { replayed, system } = await this.options.link.probe(replica.index);
        if (this.system !== null && system !== this.system) throw new Error('not a replica of this primary');
        replica.replayed = Math.max(replica.replayed, replayed);
        replica.seenAt = Date.now();
      } catch (error) {
        this.markDown(replica, error);
      }
    }).finally(() => {
      replica.refreshing = null;
    });
  }

  /**
   * Behind the primary: the age of the last replayed transaction, but never more than the time
   * since the primary was last seen at a position this replica has replayed (whatever it is
   * missing was written after that). Without the bound, after an idle hour the first write would
   * make the replica an hour "behind" until it replays it.
   */
  private lagOf(replayed: number, ageMs: number): number {
    const caughtUpTo = this.primarySeen.findLast((seen) => seen.written <= replayed);
    return caughtUpTo ? Math.min(ageMs, Date.now() - caughtUpTo.at) : ageMs;
  }

  private markDown(replica: Replica, error: unknown): void {
    if (replica.state !== 'down') this.options.logger.warn({ replica: replica.index, err: String((error as Error)?.message ?? error) }, 'replica unreachable (or not a replica of this primary); its reads go to the primary until it answers');
    replica.state = 'down';
  }

  /**
   * Lag: 0 when a replica has replayed what the primary had written just before it was asked,
   * else the age of its last replayed transaction (bounded, see lagOf). Then forgets the positions
   * every replica still serving reads has replayed.
   */
  private measure(): Promise<void> {
    this.cycle = runInBackground(async () => {
      let primary: { written: number; inserted: number; system: string } | null = null;
      try {
        primary = await this.options.link.primary();
        this.system = primary.system;
        this.primarySeen.push({ at: Date.now(), written: primary.written });
        if (this.primarySeen.length > PRIMARY_HISTORY) this.primarySeen.shift();
        // A store that lost its positions (a Redis flushed or evicted, a process restarted) knows
        // nothing below the primary's position now: reads that far behind go to the primary.
        await this.positions.mark(primary.inserted).catch(() => {});
      } catch {
        // the primary is the database's own check (/ready); replicas are measured against their last known state
      }
      await Promise.all(this.replicas.map(async (replica) => {
        try {
          const { replayed, ageMs, system } = await this.options.link.probe(replica.index);
          // LSNs of another cluster mean nothing here (a URL pointing at the wrong server).
          if (this.system === null || system !== this.system) throw new Error(this.system === null ? 'primary not measured yet' : 'not a replica of this primary');
          replica.replayed = Math.max(replica.replayed, replayed);
          replica.seenAt = Date.now();
          if (primary !== null) replica.lagMs = replayed >= primary.written ? 0 : this.lagOf(replayed, ageMs);
          replica.lagSeenMs = replica.lagMs;
          const state: ReplicaState = replica.lagMs > this.options.maxLagMs ? 'lagging' : 'ok';
          if (state !== replica.state && replica.state !== 'starting') this.options.logger.info({ replica: replica.index, state, lagMs: Math.round(replica.lagMs) }, 'replica state changed');
          replica.state = state;
        } catch (error) {
          // Unreachable: it falls further behind for as long as it is away.
          if (replica.seenAt > 0) replica.lagMs = replica.lagSeenMs + (Date.now() - replica.seenAt);
          this.markDown(replica, error);
        }
        this.options.lag.set({ replica: String(replica.index) }, replica.lagMs / 1000);
      }));
      const serving = this.replicas.filter((replica) => replica.state !== 'down');
      if (serving.length > 0) {
        // Trimmed to where every serving replica had replayed a few probes ago, not now: a reader in
        // another process compares with its own view of the replay position, which may be up to a
        // probe interval old, and a position below the trim mark is one it could not check.
        this.replayedAt.push({ at: Date.now(), lsn: Math.min(...serving.map((replica) => replica.replayed)) });
        const horizon = Date.now() - TRIM_BEHIND_PROBES * this.probeIntervalMs;
        let mark: number | undefined;
        while (this.replayedAt.length > 0 && (this.replayedAt[0] as { at: number }).at <= horizon) mark = this.replayedAt.shift()?.lsn;
        if (mark !== undefined) await this.positions.trim(mark).catch(() => {});
      }
    });
    return this.cycle;
  }
}

/** True when none of `tags` was written since (so a replica that far along has them all). */
function clear(since: ReadonlySet<string> | null, tags: Iterable<string>): boolean {
  if (since === null) return false;
  if (since.size === 0) return true;
  for (const tag of tags) if (since.has(tag)) return false;
  return true;
}
