// The read router against a stand-in for the servers: which reads a replica may answer, what sends
// them to the primary (and is counted), lag and health, and what a write records.
import { Registry } from 'prom-client';
import { describe, expect, it, vi } from 'vitest';
import { runInBackground } from '@commerce/messaging/background';
import { createLogger } from '@commerce/platform/logger';
import { replicaFallbacksCounter, replicaLagGauge } from '@commerce/platform/metrics';
import { ReadRouter, readScope, type ReplicaLink } from './replicas.js';
import { MemoryWalPositions } from './wal-positions.js';

/** A primary at `at` when first measured, and replicas at their replay positions (null: unreachable). */
function servers(replicas: Array<number | null>, at = 800) {
  const state = { written: at, inserted: at, system: 'cluster-a', replicas: replicas.map((replayed) => ({ replayed, ageMs: 250, system: 'cluster-a' })), commitReads: 0 };
  const link: ReplicaLink = {
    count: replicas.length,
    commitPosition: async () => {
      state.commitReads++;
      await new Promise((resolve) => setTimeout(resolve, 5));
      return state.inserted;
    },
    primary: async () => ({ written: state.written, inserted: state.inserted, system: state.system }),
    probe: async (index) => {
      const replica = state.replicas[index]!;
      if (replica.replayed === null) throw new Error('connection refused');
      return { replayed: replica.replayed, ageMs: replica.ageMs, system: replica.system };
    },
  };
  return { state, link };
}

function router(link: ReplicaLink, options: { maxLagMs?: number } = {}) {
  const registry = new Registry();
  const positions = new MemoryWalPositions();
  const reads = new ReadRouter({
    link,
    positions,
    maxLagMs: options.maxLagMs ?? 5000,
    lag: replicaLagGauge(registry),
    fallbacks: replicaFallbacksCounter(registry),
    logger: createLogger('test', 'silent'),
    probeIntervalMs: 60_000, // measured by hand below
    replayFreshMs: 60_000,
  });
  const fallbacks = async () =>
    Object.fromEntries(((await registry.getSingleMetric('db_replica_fallbacks_total')?.get())?.values ?? []).filter((v) => v.value > 0).map((v) => [v.labels.reason, v.value]));
  const lag = async () => ((await registry.getSingleMetric('db_replica_lag_seconds')?.get())?.values ?? []).map((v) => [v.labels.replica, v.value]);
  return { reads, positions, fallbacks, lag, measure: () => (reads as unknown as { measure(): Promise<void> }).measure() };
}

/** Where a fetch ran: the replica's index, or 'primary'. */
const where = async () => readScope.getStore()?.replica ?? 'primary';

describe('ReadRouter: which reads a replica answers', () => {
  it('a read none of whose tags was written past the replica\'s replay position runs there', async () => {
    const { link } = servers([900]);
    const { reads, positions, fallbacks } = router(link);
    await reads.start();
    await positions.record(['Product:1'], 850); // replayed
    await positions.record(['Product:2'], 950); // not yet
    expect(await reads.read(['Product:1'], where)).toBe(0);
    expect(await reads.read(['Product:3', 'Product:list'], where)).toBe(0);
    expect(await fallbacks()).toEqual({});
    await reads.stop();
  });

  it('a read of a tag written past it runs on the primary, and so does a list one of whose rows was', async () => {
    const { link } = servers([900]);
    const { reads, positions, fallbacks } = router(link);
    await reads.start();
    await positions.record(['Product:2'], 950);
    expect(await reads.read(['Product:2'], where)).toBe('primary');
    // The list's own tag is clean, but a row it returned changed after the replica's position.
    const list = async () => ({ ran: await where(), rows: ['Product:1', 'Product:2'] });
    expect(await reads.read(['Product:list'], list, (answer) => answer.rows)).toEqual({ ran: 'primary', rows: ['Product:1', 'Product:2'] });
    expect(await fallbacks()).toEqual({ unreplayed_write: 2 });
    await reads.stop();
  });

  it('without a mark from the primary nothing is known (a restart forgets writes): reads go to the primary until then', async () => {
    const { link } = servers([900], 1000);
    const { reads, fallbacks } = router(link);
    // Not started: no mark, no measured replica.
    expect(await reads.read(['Product:1'], where)).toBe('primary');
    expect(await fallbacks()).toEqual({ down: 1 });
    await reads.start();
    // Marked at the primary's position (1000), above the replica's (900): still unknown.
    expect(await reads.read(['Product:1'], where)).toBe('primary');
    expect(await fallbacks()).toEqual({ down: 1, positions_unknown: 1 });
    await reads.stop();
  });

  it('background work (relay, consumers) and reads outside any scope use the primary', async () => {
    const { link } = servers([1000]);
    const { reads } = router(link);
    await reads.start();
    expect(await runInBackground(() => reads.read(['Product:1'], where))).toBe('primary');
    expect(await where()).toBe('primary');
    await reads.stop();
  });

  it('replicas take turns; one that is down or lags past REPLICA_MAX_LAG_MS gets no reads until it is back and caught up', async () => {
    const { link, state } = servers([1000, 1000]);
    const { reads, fallbacks, lag, measure } = router(link, { maxLagMs: 1000 });
    await reads.start();
    expect(await Promise.all([1, 2, 3, 4].map(() => reads.read(['Product:1'], where)))).toEqual([0, 1, 0, 1]);
    state.replicas[0]!.replayed = null; // down
    state.written = state.inserted = 1100;
    state.replicas[1]!.ageMs = 4000; // behind the primary, its last replayed transaction 4 s old
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 5000 }); // ... and last seen caught up 5 s ago
    try {
      await measure();
    } finally {
      vi.useRealTimers();
    }
    expect(reads.status()).toEqual([{ replica: 0, state: 'down', lagMs: expect.any(Number) }, { replica: 1, state: 'lagging', lagMs: 4000 }]);
    expect(await lag()).toContainEqual(['1', 4]);
    expect(await reads.read(['Product:1'], where)).toBe('primary');
    expect(await fallbacks()).toEqual({ lagging: 1 });
    state.replicas[1]!.replayed = 1100; // caught up: lag 0, whatever the age of its last transaction
    state.replicas[0]!.replayed = 1100; // back
    await measure();
    expect(reads.status().map((r) => [r.state, r.lagMs])).toEqual([['ok', 0], ['ok', 0]]);
    expect(await lag()).toEqual([['0', 0], ['1', 0]]);
    await reads.stop();
  });

  it('after an idle spell, a write the replica has yet to replay is not taken for an hour of lag', async () => {
    const { link, state } = servers([800]);
    const { reads, measure } = router(link, { maxLagMs: 1000 });
    await reads.start(); // caught up with the primary at 800
    state.written = state.inserted = 900; // the first write in an hour
    state.replicas[0]!.ageMs = 3_600_000; // its last replayed transaction is an hour old
    await measure();
    const [replica] = reads.status();
    expect(replica?.state).toBe('ok');
    expect(replica?.lagMs).toBeLessThan(1000); // behind by at most the time since it was seen caught up
    await reads.stop();
  });

  it('a replica of another cluster (a URL pointing at the wrong server) gets no reads: its positions mean nothing here', async () => {
    const { link, state } = servers([1000]);
    state.replicas[0]!.system = 'cluster-b';
    const { reads } = router(link);
    await reads.start();
    expect(reads.status()[0]?.state).toBe('down');
    expect(await reads.read(['Product:1'], where)).toBe('primary');
    await reads.stop();
  });

  it('a statement that fails on the replica is reported by the adapter, counted, and its probe run again', async () => {
    const { link, state } = servers([1000]);
    const { reads, fallbacks } = router(link);
    await reads.start();
    state.replicas[0]!.replayed = null;
    const failing = async () => {
      readScope.getStore()?.failed(new Error('terminating connection due to administrator command'));
      return 'answered by the primary';
    };
    expect(await reads.read(['Product:1'], failing)).toBe('answered by the primary');
    expect(await fallbacks()).toEqual({ replica_error: 1 });
    await reads.stop(); // waits for the probe
    expect(reads.status()[0]?.state).toBe('down');
  });
});

describe('ReadRouter.recordWrite: the position after the commit, for the tags it purges', () => {
  it('records the primary\'s insert position read after the call; writes waiting together share one statement', async () => {
    const { link, state } = servers([900]);
    const { reads, positions } = router(link);
    await reads.start();
    state.inserted = 1200;
    await reads.recordWrite(['Order:1', 'Order:list:user:1']);
    expect(state.commitReads).toBe(1);
    expect(await positions.since(1100)).toEqual(new Set(['Order:1', 'Order:list:user:1']));
    // Ten writes at once: the first reads the position, the nine that arrive during that read
    // cannot use it (it may have been sent before their commits) and share the next one.
    state.commitReads = 0;
    await Promise.all(Array.from({ length: 10 }, (_, i) => reads.recordWrite([`Order:${i + 10}`])));
    expect(state.commitReads).toBe(2);
    await reads.stop();
  });
});

describe('MemoryWalPositions', () => {
  it('keeps the newest position per tag, answers what was written after a position, forgets what is trimmed', async () => {
    const positions = new MemoryWalPositions();
    expect(await positions.since(0)).toBeNull(); // nothing known before the first mark
    await positions.mark(100);
    await positions.record(['A', 'B'], 150);
    await positions.record(['A'], 120); // a slower writer never lowers A's newest position
    expect(await positions.since(100)).toEqual(new Set(['A', 'B']));
    expect(await positions.since(150)).toEqual(new Set());
    await positions.trim(140);
    expect(await positions.since(139)).toBeNull(); // below the trim mark: unknown
    expect(await positions.since(140)).toEqual(new Set(['A', 'B']));
    await positions.mark(500); // a mark that exists is kept
    expect(await positions.since(140)).toEqual(new Set(['A', 'B']));
  });
});
