// Apollo's automatic persisted queries (APQ), on a cache that never hands out a document over the
// static query limits. A registration (hash plus text) is checked by the edge like any other text;
// a lookup by hash alone is checked here, on the text found: the cache may be shared, or filled
// under other limits, and Apollo's own pipeline has no point after the lookup and before parsing
// where a plugin could refuse it (a plugin that throws there answers 500). A refused entry is
// answered as not found, so the client sends the text, which the edge then refuses with its limit.
import { InMemoryLRUCache, type KeyValueCache, type KeyValueCacheSetOptions } from '@apollo/utils.keyvaluecache';
import type { Counter } from 'prom-client';
import { type DocumentLimits, QueryLimitError } from '../limits/query-limits.js';

export function limitedPersistedQueries(limits: DocumentLimits, rejected: Counter<'limit'>, inner: KeyValueCache<string> = new InMemoryLRUCache<string>()): KeyValueCache<string> {
  return {
    async get(key) {
      const text = await inner.get(key);
      if (text === undefined) return undefined;
      try {
        limits.check(text);
        return text;
      } catch (error) {
        if (!(error instanceof QueryLimitError)) throw error;
        rejected.inc({ limit: error.limit });
        return undefined;
      }
    },
    set: (key: string, value: string, options?: KeyValueCacheSetOptions) => inner.set(key, value, options),
    delete: (key: string) => inner.delete(key),
  };
}
