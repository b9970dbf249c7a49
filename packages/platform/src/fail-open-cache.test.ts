// FailOpenCache and purges: one under way does not stop reads (a subgraph under a stream of
// writes is always purging something), one that failed does until it is paid, and a failure
// after a successful purge began is still owed. The store is the real in-memory one, with its
// purges held back or failed on demand.
import { describe, expect, it } from 'vitest';
import { FailOpenCache } from './fail-open-cache.js';
import { MemoryCacheStore } from './memory-cache-store.js';

/** The memory store, whose purges can be made to wait for a release or to fail. */
class HeldStore extends MemoryCacheStore {
  mode: 'pass' | 'hold' | 'fail' = 'pass';
  purged: string[][] = [];
  private releases: Array<() => void> = [];

  override async purge(tags: readonly string[]): Promise<void> {
    const mode = this.mode;
    if (mode === 'fail') throw new Error('store away');
    if (mode === 'hold') await new Promise<void>((resolve) => this.releases.push(resolve));
    this.purged.push([...tags]);
    return super.purge(tags);
  }

  release(): void {
    for (const release of this.releases.splice(0)) release();
  }
}

const entry = (key: string, tag: string, readStartedAt: number) => ({ key, value: `v-${key}`, ttlMs: 60_000, tags: [tag], readStartedAt });

describe('FailOpenCache purges', () => {
  it('a purge under way leaves reads and fills working; its caller is answered once it is through', async () => {
    const store = new HeldStore('t');
    const cache = new FailOpenCache(store, { timeoutMs: 1_000, retryAfterMs: 50 });
    expect(await cache.set(entry('a', 'A', await store.clock()))).toBe(true);
    store.mode = 'hold';
    let purged = false;
    const purge = cache.purge(['B']).then((done) => (purged = done));
    expect(cache.available).toBe(true);
    expect(await cache.get(['a'])).toEqual(['v-a']); // not a bypass
    expect(await cache.clock()).not.toBeNull();
    expect(purged).toBe(false);
    store.release();
    await purge;
    expect(purged).toBe(true);
    expect(store.purged).toEqual([['B']]);
  });

  it('a failed purge is owed: no reads until it is through, then paid with the next purge', async () => {
    const store = new HeldStore('t');
    const cache = new FailOpenCache(store, { timeoutMs: 1_000, retryAfterMs: 60_000 });
    expect(await cache.set(entry('a', 'A', await store.clock()))).toBe(true);
    store.mode = 'fail';
    expect(await cache.purge(['A'])).toBe(false);
    expect(cache.available).toBe(false);
    expect(await cache.get(['a'])).toBeNull(); // the entry it should have removed is still there
    store.mode = 'pass';
    // The store is skipped for retryAfterMs, but a purge is always tried: it pays what is owed too.
    expect(await cache.purge(['C'])).toBe(true);
    expect(store.purged.at(-1)?.sort()).toEqual(['A', 'C']);
    expect((await store.get(['a']))[0]).toBeNull();
  });

  it('a tag whose purge fails while an earlier purge of it is still under way stays owed when that one succeeds', async () => {
    const store = new HeldStore('t');
    const cache = new FailOpenCache(store, { timeoutMs: 1_000, retryAfterMs: 60_000 });
    store.mode = 'hold';
    const first = cache.purge(['X']); // sent, held: it may have run before the second write committed
    store.mode = 'fail';
    expect(await cache.purge(['X'])).toBe(false); // the second write's purge of X: owed
    store.release();
    expect(await first).toBe(true); // through, but it does not pay the later failure
    store.mode = 'pass';
    expect(await cache.purge(['Z'])).toBe(true);
    expect(store.purged.at(-1)?.sort()).toEqual(['X', 'Z']);
  });
});
