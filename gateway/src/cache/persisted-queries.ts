// The cache Apollo's persisted-query support reads a hash from: the trusted documents first
// (persisted-documents.ts; listed ids resolve from the manifest, never from the store), then
// Apollo's automatic persisted queries (APQ, apq-store.ts), on a cache that never hands out a
// document over the static query limits. An APQ registration (hash plus text) is checked by the
// edge like any other text; a lookup by hash alone is checked here, on the text found: the store
// may be shared, or filled under other limits, and Apollo's own pipeline has no point after the
// lookup and before parsing where a plugin could refuse it (a plugin that throws there answers
// 500). A refused entry is answered as not found, so the client sends the text, which the edge
// then refuses with its limit. Listed documents were checked once, at load.
import { InMemoryLRUCache, type KeyValueCache, type KeyValueCacheSetOptions } from '@apollo/utils.keyvaluecache';
import type { Counter } from 'prom-client';
import { type DocumentLimits, QueryLimitError } from '../limits/query-limits.js';
import type { PersistedDocuments } from './persisted-documents.js';

/** What Apollo Server puts before the hash in every key it asks this cache for (its APQ_CACHE_PREFIX). */
const APOLLO_APQ_PREFIX = 'apq:';
const hashOf = (key: string): string => (key.startsWith(APOLLO_APQ_PREFIX) ? key.slice(APOLLO_APQ_PREFIX.length) : key);

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

/**
 * Listed ids from the manifest (mode allow or require), anything else from APQ (mode off or
 * allow). In require mode APQ is not consulted nor written: the edge has already refused every
 * hash and text that is not listed (edge.ts persistedDocumentsMiddleware).
 */
export function persistedQueryCache(documents: PersistedDocuments, apq: KeyValueCache<string>): KeyValueCache<string> {
  if (documents.mode === 'off') return apq;
  const require = documents.mode === 'require';
  return {
    async get(key) {
      const listed = documents.body(hashOf(key));
      if (listed !== undefined) return listed;
      return require ? undefined : apq.get(key);
    },
    // A listed document sent in full (or registered) is already known: no write to the store.
    set: async (key: string, value: string, options?: KeyValueCacheSetOptions) => {
      if (require || documents.lists(hashOf(key))) return;
      await apq.set(key, value, options);
    },
    delete: (key: string) => apq.delete(key),
  };
}
