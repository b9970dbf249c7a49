// One suite, both event buses: the in-memory one (embedded graph) and the Redis Streams one
// (replicas). What the saga relies on: nothing published is lost (before subscribe, through handler
// failures, through a consumer that dies mid-batch, through a Redis restart), every group sees every
// event, a group's consumers share the work, and redelivery says which attempt it is.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import type { BusEvent, Delivery, EventBus, SubscribeOptions, Subscription } from '@commerce/messaging/event-bus';
import { MemoryEventBus } from '@commerce/messaging/memory-event-bus';
import { closeRedisClient, createRedisClient } from '@commerce/platform/redis-client';
import { RedisEventBus } from '@commerce/messaging/redis-event-bus';
import { dropPrefix } from '@commerce/harness/redis';
import { ownRedis, uniquePrefix } from './support/redis.js';

const redisUrl = inject('redisUrl');
const CLAIM_IDLE_MS = 200;

interface OpenBus {
  bus: EventBus;
  close(): Promise<void>;
}

const backends: Array<[string, () => Promise<OpenBus>]> = [
  [
    'memory',
    async () => {
      const bus = new MemoryEventBus();
      return { bus, close: () => bus.close() };
    },
  ],
  ...(redisUrl ? [['redis', () => openRedisBus(redisUrl)] as [string, () => Promise<OpenBus>]] : []),
];

describe.each(backends)('%s event bus', (_name, open) => {
  let bus: EventBus;
  let closeBus: (() => Promise<void>) | undefined;
  const subscriptions: Subscription[] = [];
  let streams = 0;
  const newStream = () => `stream-${++streams}`;

  beforeAll(async () => {
    ({ bus, close: closeBus } = await open());
  });
  afterEach(async () => {
    await Promise.all(subscriptions.splice(0).map((subscription) => subscription.stop()));
  });
  afterAll(() => closeBus?.());

  const subscribe = (stream: string, options: Omit<SubscribeOptions, 'claimIdleMs'>, handler: (event: Delivery) => Promise<void>) => {
    const subscription = bus.subscribe(stream, { claimIdleMs: CLAIM_IDLE_MS, ...options }, handler);
    subscriptions.push(subscription);
    return subscription;
  };
  const publishAll = async (stream: string, ids: readonly string[]) => {
    for (const id of ids) await bus.publish(stream, event(id));
  };

  it('delivers events published before subscribe, then later ones, in stream order, as JSON', async () => {
    const stream = newStream();
    await publishAll(stream, ids(0, 20));
    const seen: Delivery[] = [];
    subscribe(stream, { group: 'g', consumer: 'c1' }, async (delivery) => {
      seen.push(delivery);
    });
    await publishAll(stream, ids(20, 30));
    await until(() => seen.length >= 30, 'all 30 events');
    expect(seen.map((d) => d.id)).toEqual(ids(0, 30));
    expect(seen.every((d) => d.attempt === 1 && d.type === 'TestEvent')).toBe(true);
    // Same shapes in both buses: what JSON carries (a Date arrives as its ISO string).
    expect(seen[7]!.payload).toEqual({ n: 7, at: '1970-01-01T00:00:00.000Z', nested: { ok: true } });
    await expect(bus.publish(stream, { id: 'x', type: 'T', payload: { big: 1n } })).rejects.toThrow();
  });

  it('every group gets every event, in order, each at its own pace', async () => {
    const stream = newStream();
    await publishAll(stream, ids(0, 10));
    const fast: string[] = [];
    const slow: string[] = [];
    subscribe(stream, { group: 'fast', consumer: 'c' }, async (d) => {
      fast.push(d.id);
    });
    subscribe(stream, { group: 'slow', consumer: 'c' }, async (d) => {
      await sleep(3); // on purpose: a slow handler
      slow.push(d.id);
    });
    await publishAll(stream, ids(10, 20));
    await until(() => fast.length >= 20 && slow.length >= 20, 'both groups');
    expect(fast).toEqual(ids(0, 20));
    expect(slow).toEqual(ids(0, 20));
  });

  it('consumers of one group split the events, and each is handled once when all ack', async () => {
    const stream = newStream();
    await publishAll(stream, ids(0, 50));
    const byConsumer = new Map<string, string[]>([
      ['c1', []],
      ['c2', []],
    ]);
    for (const [consumer, handled] of byConsumer) {
      subscribe(stream, { group: 'workers', consumer, batchSize: 5 }, async (d) => {
        await sleep(1); // on purpose: handling takes time, so both consumers get a share
        handled.push(d.id);
      });
    }
    await publishAll(stream, ids(50, 100));
    const all = () => [...byConsumer.values()].flat();
    await until(() => all().length >= 100, '100 events');
    await sleep(CLAIM_IDLE_MS * 2); // any redelivery would have come by now
    expect(all().sort()).toEqual(ids(0, 100).sort());
    expect(byConsumer.get('c1')!.length).toBeGreaterThan(0);
    expect(byConsumer.get('c2')!.length).toBeGreaterThan(0);
  });

  it('a handler that throws gets the message again (attempt 2) after claimIdleMs; later events are not held up', async () => {
    const stream = newStream();
    await publishAll(stream, ids(0, 5));
    const calls: Array<{ id: string; attempt: number; at: number; ok: boolean }> = [];
    subscribe(stream, { group: 'g', consumer: 'c1' }, async (d) => {
      const ok = !(d.id === 'e1' && d.attempt === 1);
      calls.push({ id: d.id, attempt: d.attempt, at: performance.now(), ok });
      if (!ok) throw new Error('transient failure');
    });
    await until(() => calls.some((c) => c.id === 'e1' && c.ok), 'the retry of e1');
    const e1 = calls.filter((c) => c.id === 'e1');
    expect(e1.map((c) => c.attempt)).toEqual([1, 2]);
    expect(e1[1]!.at - e1[0]!.at).toBeGreaterThanOrEqual(CLAIM_IDLE_MS * 0.9);
    // e2..e4 went through while e1 waited for its redelivery.
    const retryIndex = calls.findIndex((c) => c.id === 'e1' && c.ok);
    expect(calls.slice(0, retryIndex).map((c) => c.id)).toEqual(['e0', 'e1', 'e2', 'e3', 'e4']);
    await sleep(CLAIM_IDLE_MS * 2); // on purpose: a third delivery would have come by now
    expect(calls.filter((c) => c.id === 'e1')).toHaveLength(2); // acked after the retry succeeded
  });

  it('a consumer stopped with messages un-acked (a crash mid-batch): another consumer reclaims them, nothing lost', async () => {
    const stream = newStream();
    await publishAll(stream, ids(0, 10));
    const handledByA: string[] = [];
    let release: (() => void) | undefined;
    const stuck = new Promise<void>((_resolve, reject) => {
      release = () => reject(new Error('the crashed consumer never finishes'));
    });
    const a = subscribe(stream, { group: 'g', consumer: 'a', batchSize: 10 }, async (d) => {
      if (d.id === 'e3') return stuck;
      handledByA.push(d.id);
    });
    try {
      await until(() => handledByA.length === 3, 'a to reach e3');
      let stopped = false;
      const stopping = a.stop().then(() => {
        stopped = true;
      });
      await sleep(50); // on purpose: time for stop() to return, were it not waiting
      expect(stopped).toBe(false); // stop() waits for the handler in flight
      const handledByB: Delivery[] = [];
      subscribe(stream, { group: 'g', consumer: 'b', batchSize: 10 }, async (d) => {
        handledByB.push(d);
      });
      await until(() => handledByB.length >= 7, 'b to take over e3..e9');
      expect(handledByB.map((d) => d.id).sort()).toEqual(ids(3, 10).sort());
      expect(handledByB.find((d) => d.id === 'e3')!.attempt).toBeGreaterThanOrEqual(2);
      expect(handledByA).toEqual(['e0', 'e1', 'e2']);
      release?.();
      await stopping;
      await sleep(CLAIM_IDLE_MS * 2); // on purpose: a redelivery would have come by now
      expect(handledByB).toHaveLength(7); // e0..e2 stay acked; b's acks stand
    } finally {
      release?.();
    }
  });

  it('1,000 events through 3 consumers whose handler fails 10% of the time: every event handled, none lost', async () => {
    const stream = newStream();
    const published = ids(0, 1000);
    const random = seeded(42);
    const succeeded = new Map<string, number>();
    let failures = 0;
    for (const consumer of ['c1', 'c2', 'c3']) {
      subscribe(stream, { group: 'workers', consumer }, async (d) => {
        if (random() < 0.1) {
          failures += 1;
          throw new Error('random failure');
        }
        succeeded.set(d.id, (succeeded.get(d.id) ?? 0) + 1);
      });
    }
    for (let i = 0; i < published.length; i += 100) await Promise.all(published.slice(i, i + 100).map((id) => bus.publish(stream, event(id))));
    await until(() => succeeded.size >= published.length, 'all 1,000 events', 30_000);
    expect([...succeeded.keys()].sort()).toEqual([...published].sort());
    expect(failures).toBeGreaterThan(50); // the failures did happen, and were redelivered
  });

  it('stop() returns promptly while the consumer waits for events', async () => {
    const subscription = subscribe(newStream(), { group: 'g', consumer: 'c' }, async () => {});
    await vi.waitFor(() => expect(subscription.waiting, 'the consumer waits in its read').toBe(true), { timeout: 5000, interval: 5 });
    const began = performance.now();
    await subscription.stop();
    expect(performance.now() - began).toBeLessThan(300);
  });
});

describe.skipIf(!redisUrl)('Redis event bus while its Redis dies', () => {
  it('a subscribed consumer gets events published after Redis was killed and restarted, without being re-created', async () => {
    const redis = await ownRedis();
    const client = createRedisClient(redis.url);
    const warnings: string[] = [];
    const bus = new RedisEventBus(client, { prefix: uniquePrefix('bus-restart'), logger: { warn: (_obj, msg) => warnings.push(msg) } });
    const seen: string[] = [];
    const subscription = bus.subscribe('orders', { group: 'products', consumer: 'p1', claimIdleMs: CLAIM_IDLE_MS }, async (d) => {
      seen.push(d.id);
    });
    try {
      await publishWhenUp(bus, 'orders', event('before'));
      await until(() => seen.includes('before'), 'the event before the outage');

      await redis.kill();
      const cpuBefore = process.cpuUsage();
      await sleep(1500); // on purpose: the consumer spends 1.5 s with Redis gone
      const cpu = process.cpuUsage(cpuBefore);
      // The loop noticed, said so once, and waited rather than spun.
      expect(warnings.filter((w) => w.includes('cannot reach Redis'))).toHaveLength(1);
      expect((cpu.user + cpu.system) / 1000).toBeLessThan(500);

      // Empty on return (no persistence): the group is gone and is created again by the loop.
      await redis.start();
      await publishWhenUp(bus, 'orders', event('after-1'));
      await bus.publish('orders', event('after-2'));
      await until(() => seen.includes('after-2'), 'the events after the restart', 10_000);
      expect(seen).toEqual(['before', 'after-1', 'after-2']);

      const began = performance.now();
      await subscription.stop();
      expect(performance.now() - began).toBeLessThan(1000);
    } finally {
      await bus.close();
      await closeRedisClient(client);
      await redis.stop();
    }
  });

  it('a consumer subscribed while Redis is down starts by itself when Redis comes up', async () => {
    const redis = await ownRedis();
    await redis.kill();
    const client = createRedisClient(redis.url);
    const bus = new RedisEventBus(client, { prefix: uniquePrefix('bus-late') });
    const seen: string[] = [];
    bus.subscribe('orders', { group: 'products', consumer: 'p1', claimIdleMs: CLAIM_IDLE_MS }, async (d) => {
      seen.push(d.id);
    });
    try {
      await sleep(700); // on purpose: the consumer tries (and fails) for a while before Redis comes up
      await redis.start();
      await publishWhenUp(bus, 'orders', event('first'));
      await until(() => seen.includes('first'), 'the first event', 10_000);
      expect(seen).toEqual(['first']);
    } finally {
      const began = performance.now();
      await bus.close();
      expect(performance.now() - began).toBeLessThan(1000);
      await closeRedisClient(client);
      await redis.stop();
    }
  });
});

async function openRedisBus(url: string): Promise<OpenBus> {
  const client = createRedisClient(url);
  await vi.waitFor(() => expect(client.isReady, 'the shared Redis is ready').toBe(true), { timeout: 5000, interval: 10 });
  const prefix = uniquePrefix('bus');
  const bus = new RedisEventBus(client, { prefix });
  return {
    bus,
    close: async () => {
      await bus.close();
      await closeRedisClient(client);
      await dropPrefix(url, prefix);
    },
  };
}

/** Publishing fails at once while Redis is down (the outbox would retry); here, retry until it is up. */
const publishWhenUp = (bus: EventBus, stream: string, e: BusEvent): Promise<void> => vi.waitFor(() => bus.publish(stream, e), { timeout: 10_000, interval: 50 });

function event(id: string): BusEvent {
  return { id, type: 'TestEvent', payload: { n: Number(id.slice(1)), at: new Date(0), nested: { ok: true } } };
}

const ids = (from: number, to: number): string[] => Array.from({ length: to - from }, (_, i) => `e${from + i}`);

const until = (condition: () => boolean, what: string, timeout = 10_000): Promise<void> => expect.poll(condition, { message: `waiting for ${what}`, timeout, interval: 10 }).toBe(true);

/** mulberry32: the same "random" failures on every run. */
function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
