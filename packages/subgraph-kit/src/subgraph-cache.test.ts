import { describe, expect, it } from 'vitest';
import { FailOpenCache } from '@commerce/platform/fail-open-cache';
import { MemoryCacheStore } from '@commerce/platform/memory-cache-store';
import { decodeRow, encodeRow, RequestCache } from './subgraph-cache.js';
import { subgraphCache } from './testing.js';

const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
interface Row { id: string; name: string; createdAt: Date; deletedAt: Date | null }
const row = (n: number, name = `R${n}`): Row => ({ id: id(n), name, createdAt: new Date(Date.UTC(2026, 0, n)), deletedAt: null });

function table(initial: Row[]) {
  const rows = new Map(initial.map((r) => [r.id, r]));
  const calls: string[][] = [];
  return {
    rows,
    calls,
    fetch: async (ids: string[]) => {
      calls.push([...ids]);
      return ids.flatMap((key) => (rows.has(key) ? [rows.get(key) as Row] : [])).reverse();
    },
  };
}

describe('subgraph entity cache', () => {
  it('without a store: one fetch, one result per id in id order, null for misses; malformed ids are never sent', async () => {
    const db = table([row(1), row(3)]);
    const result = await subgraphCache().rowsByIds('Thing', [id(3), 'nope', id(1), id(999), id(3)], db.fetch);
    expect(result.map((r) => r?.id ?? null)).toEqual([id(3), null, id(1), null, id(3)]);
    expect(db.calls).toEqual([[id(3), id(1), id(999)]]);
  });

  it('with a store: the second read is served from it; a purge sends the next read to the database', async () => {
    const cache = subgraphCache(new FailOpenCache(new MemoryCacheStore('t'), { timeoutMs: 50 }));
    const db = table([row(1), row(2)]);
    await cache.rowsByIds('Thing', [id(1), id(2)], db.fetch);
    await new Promise((resolve) => setImmediate(resolve)); // sets are not awaited by readers
    const again = await cache.rowsByIds('Thing', [id(1), id(2)], db.fetch);
    expect(again.map((r) => r?.name)).toEqual(['R1', 'R2']);
    expect(again[0]?.createdAt).toEqual(new Date(Date.UTC(2026, 0, 1))); // Dates survive the trip
    expect(db.calls).toHaveLength(1);

    db.rows.set(id(1), row(1, 'renamed'));
    await cache.purge(['Thing:' + id(1)]);
    const fresh = await cache.rowsByIds('Thing', [id(1), id(2)], db.fetch);
    expect(fresh.map((r) => r?.name)).toEqual(['renamed', 'R2']);
    expect(db.calls.at(-1)).toEqual([id(1)]); // only the purged one was read again
  });

  it('a read that overlaps a write never stores the old row', async () => {
    const cache = subgraphCache(new FailOpenCache(new MemoryCacheStore('t'), { timeoutMs: 50 }));
    const db = table([row(1)]);
    const slowFetch = async (ids: string[]) => {
      const rows = await db.fetch(ids); // reads the old row…
      db.rows.set(id(1), row(1, 'new')); // …a write commits…
      await cache.purge(['Thing:' + id(1)]); // …and purges, before the read stores it
      return rows;
    };
    expect((await cache.rowsByIds('Thing', [id(1)], slowFetch))[0]?.name).toBe('R1');
    await new Promise((resolve) => setImmediate(resolve));
    expect((await cache.rowsByIds('Thing', [id(1)], db.fetch))[0]?.name).toBe('new');
  });

  it('a request notes the tags of every id it asked for, found or not', async () => {
    const request = new RequestCache(subgraphCache());
    await request.rowsByIds('Thing', [id(1), id(2), 'nope'], table([row(1)]).fetch);
    request.tag('Thing:list');
    expect([...request.tags].sort()).toEqual(['Thing:' + id(1), 'Thing:' + id(2), 'Thing:list']);
  });

  it('rows round-trip with their Dates and nulls', () => {
    const original = { ...row(5), deletedAt: new Date(0), nested: { at: new Date(1) } };
    expect(decodeRow(encodeRow(original))).toEqual(original);
  });
});
