import type { KeyValueCache } from '@apollo/utils.keyvaluecache';
import { describe, expect, it } from 'vitest';
import { FailOpenKeyValueCache } from './apq-store.js';

const counts = () => {
  const seen: string[] = [];
  return { seen, count: (result: string) => void seen.push(result) };
};
const never = new Promise<never>(() => {});

describe('the APQ store fails open', () => {
  it('a lookup that hangs is a miss after the timeout, and the store is skipped for a while', async () => {
    let calls = 0;
    const hanging: KeyValueCache<string> = { get: () => ((calls += 1), never), set: () => never, delete: () => never };
    const { seen, count } = counts();
    const cache = new FailOpenKeyValueCache(hanging, 30, 60_000, count);
    const started = performance.now();
    expect(await cache.get('apq:x')).toBeUndefined();
    expect(performance.now() - started).toBeLessThan(500);
    expect(cache.available).toBe(false);
    expect(await cache.get('apq:y')).toBeUndefined();
    await cache.set('apq:y', 'query { __typename }'); // resolves, never throws
    expect(calls).toBe(1); // skipped meanwhile
    expect(seen).toEqual(['bypass', 'bypass']);
  });

  it('a store that throws is a miss, never an error; it is tried again after the retry interval', async () => {
    let failing = true;
    const store = new Map<string, string>([['apq:x', 'query { __typename }']]);
    const flaky: KeyValueCache<string> = {
      get: async (key) => {
        if (failing) throw new Error('ECONNREFUSED');
        return store.get(key);
      },
      set: async () => {
        if (failing) throw new Error('ECONNREFUSED');
      },
      delete: async () => true,
    };
    const { seen, count } = counts();
    const cache = new FailOpenKeyValueCache(flaky, 50, 20, count);
    expect(await cache.get('apq:x')).toBeUndefined();
    await expect(cache.set('apq:z', 'query { __typename }')).resolves.toBeUndefined();
    failing = false;
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(await cache.get('apq:x')).toBe('query { __typename }');
    expect(await cache.get('apq:none')).toBeUndefined();
    expect(seen).toEqual(['bypass', 'hit', 'miss']);
  });
});
