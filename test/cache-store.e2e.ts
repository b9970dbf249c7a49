// One suite, both cache stores: the in-memory one (embedded graph) and the Redis one (replicas).
// What callers rely on: TTLs, prefixes, purge by tag, and that a value read before a purge of one
// of its tags can never be written after it.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, inject, it, vi } from 'vitest';
import type { CacheStore } from '@commerce/platform/cache-store';
import { FailOpenCache } from '@commerce/platform/fail-open-cache';
import { MemoryCacheStore } from '@commerce/platform/memory-cache-store';
import { RedisCacheStore } from '@commerce/platform/redis-cache-store';
import { dropPrefix } from '@commerce/harness/redis';
import { ownRedis, uniquePrefix } from './support/redis.js';

const redisUrl = inject('redisUrl');
const stores: CacheStore[] = [];
const prefixes: string[] = [];
afterAll(async () => {
  for (const store of stores) await store.close();
  if (redisUrl) for (const prefix of prefixes) await dropPrefix(redisUrl, prefix); // clocks have no TTL
});

const backends: Array<[string, (prefix: string) => CacheStore]> = [
  ['memory', (prefix) => new MemoryCacheStore(prefix)],
  ...(redisUrl ? [['redis', (prefix: string) => new RedisCacheStore({ url: redisUrl, prefix })] as [string, (prefix: string) => CacheStore]] : []),
];

describe.each(backends)('%s cache store', (_name, make) => {
  const open = async (prefix = uniquePrefix('store')) => {
    const store = make(prefix);
    stores.push(store);
    prefixes.push(prefix);
    await waitReady(store);
    return store;
  };
  const entry = (key: string, value: string, readStartedAt: number, tags: string[] = [], ttlMs = 10_000) => ({ key, value, ttlMs, tags, readStartedAt });

  it('stores, reads and deletes values; absent keys read as null', async () => {
    const store = await open();
    expect(await store.set(entry('a', 'one', await store.clock()))).toBe(true);
    expect(await store.get(['a', 'b'])).toEqual(['one', null]);
    await store.delete(['a']);
    expect(await store.get(['a'])).toEqual([null]);
  });

  it('expires values after their TTL, and refuses a value without one', async () => {
    const store = await open();
    await store.set(entry('short', 'x', await store.clock(), [], 50));
    expect(await store.get(['short'])).toEqual(['x']);
    await sleep(120); // on purpose: the TTL must run out
    expect(await store.get(['short'])).toEqual([null]);
    await expect(store.set(entry('forever', 'x', 0, [], 0))).rejects.toThrow(/TTL/);
  });

  it('keeps prefixes apart', async () => {
    const [one, two] = [await open(), await open()];
    await one.set(entry('k', 'one', await one.clock()));
    expect(await two.get(['k'])).toEqual([null]);
    expect(() => make('bad prefix!')).toThrow(/prefix/);
  });

  it('purging a tag removes every entry carrying it, and only those', async () => {
    const store = await open();
    const start = await store.clock();
    await store.set(entry('p1', 'v', start, ['Product:1', 'Product:list']));
    await store.set(entry('p2', 'v', start, ['Product:2', 'Product:list']));
    await store.set(entry('u1', 'v', start, ['User:1']));
    await store.purge(['Product:1']);
    expect(await store.get(['p1', 'p2', 'u1'])).toEqual([null, 'v', 'v']);
    await store.purge(['Product:list']);
    expect(await store.get(['p1', 'p2', 'u1'])).toEqual([null, null, 'v']);
  });

  it('refuses a value read before a purge of one of its tags (the slow-read race)', async () => {
    const store = await open();
    const slowReadStarted = await store.clock(); // a read begins…
    await store.purge(['Product:1']); // …a write commits and purges…
    expect(await store.set(entry('p1', 'old', slowReadStarted, ['Product:1']))).toBe(false); // …the old value stays out
    expect(await store.get(['p1'])).toEqual([null]);
    // A read that began after the purge may fill; other tags never block.
    expect(await store.set(entry('p1', 'new', await store.clock(), ['Product:1']))).toBe(true);
    expect(await store.set(entry('p2', 'v', slowReadStarted, ['Product:2']))).toBe(true);
    expect(await store.get(['p1', 'p2'])).toEqual(['new', 'v']);
  });

  it('the clock only moves forward, and every purge moves it', async () => {
    const store = await open();
    const before = await store.clock();
    await store.purge(['A']);
    const after = await store.clock();
    expect(after).toBeGreaterThan(before);
  });

  it('a thousand interleaved reads and purges never leave a value read before its purge', async () => {
    const store = await open();
    // A "database" row that writers change and readers copy into the cache, as the services do:
    // a reader takes the clock, then reads; a writer writes, then purges. No timers: each step
    // waits for the others' progress, so the interleaving is the same on a fast or a loaded machine.
    let version = 0;
    let reads = 0;
    let purgesCalled = 0;
    let lastPurgeDone = 0;
    const WRITERS = 334;
    let writersLeft = WRITERS;
    const waiting = new Set<() => void>();
    const progress = () => waiting.forEach((check) => check());
    const when = (condition: () => boolean) =>
      new Promise<void>((resolve) => {
        const check = () => condition() && (waiting.delete(check), resolve());
        waiting.add(check);
        check();
      });
    let overtaken = 0; // sets sent after a purge that began after their read had completed
    const admitted: string[] = [];
    // Reader j begins once j/2 purges are through, and writer k once 2k reads have begun: reads,
    // purges and sets keep alternating from the first operation to the last.
    const read = async (j: number) => {
      await when(() => lastPurgeDone >= Math.floor(j / 2));
      const started = await store.clock();
      const seen = version;
      // A purge called after the clock answered ran after it: its mark is above `started`.
      const purgesBeforeRead = purgesCalled;
      reads += 1;
      progress();
      // Half the reads are slow: their set waits until a later purge has gone through.
      if (j % 2 === 1) await when(() => lastPurgeDone > purgesBeforeRead || writersLeft === 0);
      const late = lastPurgeDone > purgesBeforeRead;
      const written = await store.set(entry('k', String(seen), started, ['T']));
      if (!late) return;
      overtaken += 1;
      if (written) admitted.push(`read v${seen} at clock ${started}, set after purge ${lastPurgeDone}`);
    };
    const write = async (k: number) => {
      await when(() => reads >= 2 * k);
      version += 1;
      const n = ++purgesCalled;
      await store.purge(['T']);
      lastPurgeDone = Math.max(lastPurgeDone, n);
      writersLeft -= 1;
      progress();
    };
    await Promise.all([...Array.from({ length: WRITERS }, (_, k) => write(k)), ...Array.from({ length: 1000 - WRITERS }, (_, j) => read(j))]);
    expect(overtaken).toBeGreaterThan(100); // the race really happened
    expect(admitted.slice(0, 5)).toEqual([]);
    // Whatever survived was read after the last purge, so it is the latest version.
    const [value] = await store.get(['k']);
    expect(value === null ? version : Number(value)).toBe(version);
  });
});

describe.skipIf(!redisUrl)('fail-open over a Redis that dies', () => {
  it('bypasses within the timeout while Redis is down, keeps owed purges, and works again when it returns', async () => {
    const redis = await ownRedis();
    const store = new RedisCacheStore({ url: redis.url, prefix: uniquePrefix('failopen') });
    const cache = new FailOpenCache(store, { timeoutMs: 50, retryAfterMs: 200 });
    try {
      await waitReady(store);
      const start = (await cache.clock()) as number;
      expect(await cache.set({ key: 'k', value: 'v', ttlMs: 60_000, tags: ['T'], readStartedAt: start })).toBe(true);
      expect(await cache.get(['k'])).toEqual(['v']);

      await redis.kill();
      const began = performance.now();
      expect(await cache.get(['k'])).toBeNull(); // a bypass, not an error
      expect(await cache.clock()).toBeNull();
      expect(await cache.purge(['T'])).toBe(false); // owed, not lost
      expect(performance.now() - began).toBeLessThan(1500);
      expect(cache.available).toBe(false);

      await redis.start();
      await expect.poll(() => cache.available, { timeout: 10_000 }).toBe(true); // reconnected and paid the owed purge
      const again = (await cache.clock()) as number;
      expect(await cache.set({ key: 'k2', value: 'v2', ttlMs: 60_000, tags: ['T'], readStartedAt: again })).toBe(true);
      expect(await cache.get(['k2'])).toEqual(['v2']);
    } finally {
      await cache.close();
      await redis.stop();
    }
  });

  it('a read that began before Redis restarted cannot set after it (the clock resumes above)', async () => {
    const redis = await ownRedis();
    const store = new RedisCacheStore({ url: redis.url, prefix: uniquePrefix('restart') });
    try {
      await waitReady(store);
      const started = await store.clock();
      await redis.kill();
      await redis.start();
      await waitReady(store);
      await store.purge(['T']); // a write after the restart
      expect(await store.set({ key: 'k', value: 'old', ttlMs: 60_000, tags: ['T'], readStartedAt: started })).toBe(false);
    } finally {
      await store.close();
      await redis.stop();
    }
  });
});

const waitReady = (store: CacheStore): Promise<void> => vi.waitFor(() => store.ping(), { timeout: 5000, interval: 50 });
