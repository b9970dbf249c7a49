// One suite, both stores of write positions (ADR 0005): the in-memory one (a subgraph alone in its
// process) and the Redis one (every process of a subgraph shares it). What readers rely on: the
// newest position per tag, the tags written after a position, and "unknown" (never a guess) when
// positions were trimmed past it, lost, or never kept.
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createRedisClient, closeRedisClient, type RedisClient } from '@commerce/platform/redis-client';
import { MemoryWalPositions, RedisWalPositions, type WalPositions, formatLsn, parseLsn } from '@commerce/subgraph-kit/wal-positions';
import { dropPrefix } from '@commerce/harness/redis';
import { uniquePrefix } from './support/redis.js';

const redisUrl = inject('redisUrl');
const clients: RedisClient[] = [];
const prefixes: string[] = [];
afterAll(async () => {
  for (const client of clients) await closeRedisClient(client);
  if (redisUrl) for (const prefix of prefixes) await dropPrefix(redisUrl, prefix);
});

async function redisPositions(): Promise<{ positions: WalPositions; flush: () => Promise<void> }> {
  const client = createRedisClient(redisUrl as string);
  clients.push(client);
  for (let i = 0; i < 100 && !client.isReady; i++) await new Promise((resolve) => setTimeout(resolve, 20));
  const prefix = uniquePrefix('wal');
  prefixes.push(prefix);
  const key = `${prefix}:wal-positions:test`;
  return { positions: new RedisWalPositions(client, key, 1000), flush: async () => void (await client.del(key)) };
}

const backends: Array<[string, () => Promise<{ positions: WalPositions; flush?: () => Promise<void> }>]> = [
  ['memory', async () => ({ positions: new MemoryWalPositions() })],
  ...(redisUrl ? [['redis', redisPositions] as [string, typeof redisPositions]] : []),
];

describe('WAL positions as numbers', () => {
  it('parse and print PostgreSQL\'s X/Y form, exactly, past 32 bits', () => {
    expect(parseLsn('0/3016060')).toBe(0x3016060);
    expect(parseLsn('16/B374D848')).toBe(0x16 * 2 ** 32 + 0xb374d848);
    expect(formatLsn(parseLsn('16/B374D848'))).toBe('16/B374D848');
    expect(() => parseLsn('nope')).toThrow();
  });
});

describe.each(backends)('%s write positions', (_name, open) => {
  it('know nothing before the first mark; then the tags written after a position, newest position per tag', async () => {
    const { positions } = await open();
    await positions.record(['Product:1'], 90);
    expect(await positions.since(100)).toBeNull();
    await positions.mark(100);
    await positions.record(['Product:1', 'Product:list'], 150);
    await positions.record(['Product:1'], 120); // an older position never lowers a newer one
    await positions.record(['User:7'], 200);
    expect(await positions.since(100)).toEqual(new Set(['Product:1', 'Product:list', 'User:7']));
    expect(await positions.since(150)).toEqual(new Set(['User:7']));
    expect(await positions.since(200)).toEqual(new Set());
  });

  it('a trimmed past position is unknown, not clean; a later mark never lowers the trim', async () => {
    const { positions } = await open();
    await positions.mark(100);
    await positions.record(['A'], 150);
    await positions.record(['B'], 250);
    await positions.trim(200);
    expect(await positions.since(199)).toBeNull();
    expect(await positions.since(200)).toEqual(new Set(['B']));
    await positions.trim(150); // a trimmer with an older view changes nothing
    expect(await positions.since(199)).toBeNull();
    await positions.mark(120); // a store that has its mark keeps it
    expect(await positions.since(200)).toEqual(new Set(['B']));
  });

  it('positions that were lost (a flushed or evicted Redis) are unknown until marked again, at the primary\'s position then', async () => {
    const { positions, flush } = await open();
    if (!flush) return; // memory: lost only with its process, which starts unmarked (first test)
    await positions.mark(100);
    await positions.record(['A'], 150);
    await flush();
    await positions.record(['B'], 300); // a write after the loss recreates the set, without a mark
    expect(await positions.since(200)).toBeNull();
    await positions.mark(400);
    expect(await positions.since(200)).toBeNull(); // below the new mark: unknown
    expect(await positions.since(400)).toEqual(new Set());
  });
});
