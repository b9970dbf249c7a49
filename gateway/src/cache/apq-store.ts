// Where automatic persisted queries (APQ) are kept: Redis through keyv (`@keyv/redis`, wrapped in
// Apollo's KeyvAdapter) when REDIS_URL is set, so a document registered on one gateway replica is
// found by hash on every other; in this process's memory otherwise (npm start, one gateway).
// Like the response cache it fails open: a store that errs or does not answer within
// CACHE_TIMEOUT_MS is a miss (the client then sends the text, which runs) and is skipped for a
// second, never a failed request. Keys: `<CACHE_PREFIX>:apq:<sha256>` (Apollo adds `apq:`), beside
// the budgets' `<CACHE_PREFIX>:budget:…`.
import { KeyvAdapter } from '@apollo/utils.keyvadapter';
import { InMemoryLRUCache, type KeyValueCache, type KeyValueCacheSetOptions } from '@apollo/utils.keyvaluecache';
import KeyvRedis, { type RedisClientConnectionType } from '@keyv/redis';
import { Keyv } from 'keyv';
import type { Logger } from '@commerce/platform/logger';
import { closeRedisClient, createRedisClient } from '@commerce/platform/redis-client';
import { within } from '@commerce/platform/within';
import type { Counter } from 'prom-client';

export interface ApqStoreOptions {
  redisUrl: string | null;
  prefix: string;
  /** Longest a lookup waits before it counts as a miss (CACHE_TIMEOUT_MS). */
  timeoutMs: number;
  /** cache_requests_total, counted with layer="apq". */
  requests: Counter<'layer' | 'result'>;
  logger: Logger;
  /** How long a failed store is skipped before it is tried again. */
  retryAfterMs?: number;
}

export interface ApqStore {
  cache: KeyValueCache<string>;
  /** What /ready reports (never a reason to be unready). */
  status(): string;
  close(): Promise<void>;
}

/**
 * How long a registration is kept (Apollo sets none): with no TTL, Redis' volatile-lru could never
 * evict the entries, and anyone can register any number of distinct documents. A client whose
 * entry expired registers it again with one extra round trip.
 */
export const APQ_TTL_SECONDS = 86_400;

/** KeyvAdapter's types name keyv's CommonJS declaration, this module imports the ESM one: one class at run time. */
type KeyvAdapterInput = ConstructorParameters<typeof KeyvAdapter<string>>[0];

/** Entries an in-memory store keeps (Apollo's default LRU is bounded by size; this by count too). */
const MEMORY_MAX_ENTRIES = 10_000;

export function openApqStore(options: ApqStoreOptions): ApqStore {
  const count = (result: 'hit' | 'miss' | 'bypass') => options.requests.inc({ layer: 'apq', result });
  if (!options.redisUrl) {
    const memory = new InMemoryLRUCache<string>({ max: MEMORY_MAX_ENTRIES });
    return { cache: counted(memory, count), status: () => 'ok (in memory)', close: async () => {} };
  }
  // A client of its own (commands fail at once while disconnected, it reconnects by itself): keyv
  // may disconnect a client it finds closed, which must never be the one the budgets share.
  const client = createRedisClient(options.redisUrl, {
    onError: (error) => options.logger.warn({ err: error.message }, 'APQ store: redis connection error; persisted queries fall back to sending the text until it reconnects'),
  });
  const store = new KeyvRedis(client as unknown as RedisClientConnectionType, { namespace: options.prefix, keyPrefixSeparator: ':', throwOnErrors: true, throwOnConnectError: true });
  // As @keyv/redis' createKeyv builds it: the store alone prefixes keys (no `keyv:` double prefix).
  const keyv = new Keyv<string>(store, { namespace: options.prefix, useKeyPrefix: false, throwOnErrors: true });
  keyv.on('error', () => {}); // reported once per outage by the client, and per call below
  const failOpen = new FailOpenKeyValueCache(new KeyvAdapter<string>(keyv as unknown as KeyvAdapterInput), options.timeoutMs, options.retryAfterMs ?? 1000, count, options.logger);
  return {
    cache: failOpen,
    status: () => (!client.isReady ? 'unreachable (APQ lookups miss)' : failOpen.available ? 'ok (redis)' : 'bypassing (recent failure)'),
    close: () => closeRedisClient(client),
  };
}

function counted(inner: KeyValueCache<string>, count: (result: 'hit' | 'miss') => void): KeyValueCache<string> {
  return {
    async get(key) {
      const value = await inner.get(key);
      count(value === undefined ? 'miss' : 'hit');
      return value;
    },
    set: (key: string, value: string, options?: KeyValueCacheSetOptions) => inner.set(key, value, options),
    delete: (key: string) => inner.delete(key),
  };
}

/** A KeyValueCache that never throws and never waits past its timeout: failures are misses. */
export class FailOpenKeyValueCache implements KeyValueCache<string> {
  private downUntil = 0;

  constructor(
    private readonly inner: KeyValueCache<string>,
    private readonly timeoutMs: number,
    private readonly retryAfterMs: number,
    private readonly count: (result: 'hit' | 'miss' | 'bypass') => void,
    private readonly logger?: Logger,
  ) {}

  get available(): boolean {
    return Date.now() >= this.downUntil;
  }

  async get(key: string): Promise<string | undefined> {
    const value = await this.attempt(() => this.inner.get(key));
    if (value === null) {
      this.count('bypass');
      return undefined;
    }
    this.count(value === undefined ? 'miss' : 'hit');
    return value;
  }

  async set(key: string, value: string, options?: KeyValueCacheSetOptions): Promise<void> {
    await this.attempt(() => this.inner.set(key, value, options));
  }

  async delete(key: string): Promise<boolean> {
    return (await this.attempt(() => this.inner.delete(key))) ?? false;
  }

  /** The operation's result, or null when the store is skipped, failed or was too slow. */
  private async attempt<T>(operation: () => Promise<T>): Promise<T | null> {
    if (!this.available) return null;
    try {
      return await within(operation(), this.timeoutMs, 'APQ store');
    } catch (error) {
      if (this.available) this.logger?.warn({ err: String(error) }, 'APQ store unavailable; lookups miss (clients send the text) for now');
      this.downUntil = Date.now() + this.retryAfterMs;
      return null;
    }
  }
}
