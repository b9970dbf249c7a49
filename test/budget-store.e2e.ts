// Client budgets: one token-bucket suite against both stores (in memory for the embedded graph,
// Redis for replicas), that replicas on one Redis share one budget exactly, and that a Redis
// that dies leaves each replica deciding alone instead of failing.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, inject, it, vi } from 'vitest';
import { type BudgetStore, budgetStoreScripts, FailOpenBudgetStore, MemoryBudgetStore, RedisBudgetStore } from '@commerce/gateway/budget-store';
import { closeRedisClient, createRedisClient, type RedisClient } from '@commerce/platform/redis-client';
import { ownRedis, uniquePrefix } from './support/redis.js';

const redisUrl = inject('redisUrl');
const clients: RedisClient[] = [];
afterAll(async () => {
  for (const client of clients) await closeRedisClient(client);
});
const redisClient = async (url: string) => {
  const client = createRedisClient(url, { scripts: budgetStoreScripts });
  clients.push(client);
  await vi.waitFor(() => expect(client.isReady).toBe(true), { timeout: 2000, interval: 20 });
  return client;
};

const backends: Array<[string, () => Promise<BudgetStore>]> = [
  ['memory', async () => new MemoryBudgetStore()],
  ...(redisUrl ? [['redis', async () => new RedisBudgetStore(await redisClient(redisUrl), uniquePrefix('budget'))] as [string, () => Promise<BudgetStore>]] : []),
];

describe.each(backends)('%s budget store', (_name, open) => {
  const limit = { capacity: 10, refillPerSecond: 2 };

  it('takes the cost while it fits, then refuses with the wait until it would', async () => {
    const store = await open();
    expect(await store.take('a', 4, limit)).toMatchObject({ allowed: true, remaining: 6 });
    expect(await store.take('a', 4, limit)).toMatchObject({ allowed: true, remaining: 2 });
    const refused = await store.take('a', 4, limit);
    expect(refused).toMatchObject({ allowed: false, remaining: 2 });
    expect(refused.retryAfterSeconds).toBe(1); // 2 points missing at 2 per second
    expect(refused.resetSeconds).toBe(4); // 8 points to refill
    expect(await store.take('b', 4, limit)).toMatchObject({ allowed: true, remaining: 6 }); // another client is unaffected
  });

  it('refills with time, never above capacity', async () => {
    const store = await open();
    // Full again in half a second; watched for three times that, an uncapped bucket would reach 30.
    const fast = { capacity: 10, refillPerSecond: 20 };
    expect(await store.take('c', 10, fast)).toMatchObject({ allowed: true, remaining: 0 });
    expect((await store.take('c', 10, fast)).allowed).toBe(false);
    // Looked at (cost 0) every 100 ms, which also keeps the Redis key from expiring (an expired
    // bucket starts afresh at capacity, and would hide an overfilled one).
    const levels: number[] = [];
    for (let i = 0; i < 15; i++) {
      await sleep(100); // on purpose: time refills the bucket
      levels.push((await store.take('c', 0, fast)).remaining);
    }
    expect(levels).toEqual([...levels].sort((a, b) => a - b)); // it filled…
    expect(Math.max(...levels)).toBe(10); // …up to its capacity and no further
    expect(levels.at(-1)).toBe(10);
    expect(await store.take('c', 11, fast)).toMatchObject({ allowed: false, remaining: 10 });
    expect(await store.take('c', 10, fast)).toMatchObject({ allowed: true, remaining: 0 });
  });

  it('an operation costing more than the capacity never fits', async () => {
    const store = await open();
    expect((await store.take('e', 11, limit)).allowed).toBe(false);
  });
});

describe.skipIf(!redisUrl)('budgets across replicas', () => {
  it('two replicas on one Redis admit exactly one budget between them, under concurrency', async () => {
    const prefix = uniquePrefix('replicas');
    const replicas = [new RedisBudgetStore(await redisClient(redisUrl as string), prefix), new RedisBudgetStore(await redisClient(redisUrl as string), prefix)];
    const limit = { capacity: 50, refillPerSecond: 0.001 };
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => replicas[i % 2]!.take('client-1', 1, limit)));
    expect(results.filter((r) => r.allowed)).toHaveLength(50);
    expect(results.filter((r) => r.allowed && r.source === 'shared')).toHaveLength(50);
  });

  it('Redis killed: each replica decides alone within the timeout; shared again once Redis is back', async () => {
    const redis = await ownRedis();
    const store = new FailOpenBudgetStore(new RedisBudgetStore(await redisClient(redis.url), uniquePrefix('failopen')), 50);
    const limit = { capacity: 5, refillPerSecond: 0.001 };
    try {
      expect(await store.take('k', 1, limit)).toMatchObject({ allowed: true, source: 'shared' });
      await redis.kill();
      const began = performance.now();
      const local = await store.take('k', 1, limit);
      expect(local).toMatchObject({ allowed: true, source: 'local' });
      expect(performance.now() - began).toBeLessThan(500);
      // The local bucket still limits: 5 points, one spent just now.
      const more = await Promise.all(Array.from({ length: 6 }, () => store.take('k', 1, limit)));
      expect(more.filter((r) => r.allowed)).toHaveLength(4);
      await redis.start();
      // The client reconnects by itself; the store tries Redis again a second after a failure.
      await expect.poll(async () => (await store.take('k', 1, limit)).source, { timeout: 6000, interval: 100 }).toBe('shared');
    } finally {
      await redis.stop();
    }
  });
});
