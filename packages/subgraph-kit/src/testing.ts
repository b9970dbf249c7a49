// Helpers for unit tests (not exported from the package index).
import { Registry } from 'prom-client';
import type { FailOpenCache } from '@commerce/platform/fail-open-cache';
import { cacheCounters } from '@commerce/platform/metrics';
import { RequestCache, SubgraphCache } from './subgraph-cache.js';

/** A subgraph cache over `cache` (null: caching off), with counters in a registry of its own. */
export function subgraphCache(cache: FailOpenCache | null = null, ttlMs = 60_000): SubgraphCache {
  return new SubgraphCache(cache, 'entity:test:v1', ttlMs, cacheCounters(new Registry()));
}

/** A request's cache face with caching off: loaders fetch every row from the repository. */
export const uncachedRequest = (): RequestCache => new RequestCache(subgraphCache());

/** The extensions.code of what `fn` throws, or 'no error'. */
export function errorCodeOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return (error as { extensions?: { code?: string } }).extensions?.code;
  }
  return 'no error';
}
