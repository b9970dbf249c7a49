// Which cache store a service uses, decided once at start: the one it is given (the embedded graph
// shares one in-memory store between its four services), else Redis at REDIS_URL, else none.
// Without a shared store a separate process does not cache at all: it could not hear about writes
// made by other processes, and a cache that serves stale data is worse than none.
import type { CacheConfig } from './cache-config.js';
import type { CacheStore } from './cache-store.js';
import { FailOpenCache } from './fail-open-cache.js';
import type { Logger } from './logger.js';
import { type CacheStoreScripts, RedisCacheStore } from './redis-cache-store.js';
import type { RedisClient } from './redis-client.js';
import { within } from './within.js';

export interface OpenedCache {
  /** null: caching is off (disabled, or no shared store). */
  cache: FailOpenCache | null;
  /** What /ready reports about the cache (never a reason to be unready). */
  status(): Promise<string>;
  close(): Promise<void>;
}

/** `redis`: the service's client for REDIS_URL, declaring the cache store's scripts (null without one); its owner closes it. */
export function openCache(config: CacheConfig, logger: Logger, redis: RedisClient<CacheStoreScripts> | null, given?: CacheStore): OpenedCache {
  if (!config.enabled) return off('off (CACHE_ENABLED=false)');
  const store = given ?? (redis ? new RedisCacheStore({ client: redis, prefix: config.prefix }) : null);
  if (!store) {
    logger.info('cache off: no REDIS_URL (separate processes need a shared store to hear about each other\'s writes)');
    return off('off (no REDIS_URL)');
  }
  const cache = new FailOpenCache(store, { timeoutMs: config.timeoutMs, logger });
  return {
    cache,
    status: async () => {
      if (!cache.available) return 'bypassing (unreachable or owed purges)';
      try {
        await within(store.ping(), 500, 'cache');
        return given ? 'ok (in memory)' : 'ok (redis)';
      } catch {
        return 'unreachable (bypassing)';
      }
    },
    // A store (or client) someone gave us is theirs to close.
    close: async () => {
      if (!given) await cache.close();
    },
  };
}

function off(reason: string): OpenedCache {
  return { cache: null, status: async () => reason, close: async () => {} };
}
