// Cache settings every service reads the same way (gateway and subgraphs).
import { z } from 'zod';
import { booleanFlag } from './env.js';

export interface CacheConfig {
  /** CACHE_ENABLED=false turns both layers off (benchmarks, debugging). */
  enabled: boolean;
  /** Shared store for every replica; without it only the embedded graph caches (in memory). */
  redisUrl: string | null;
  /** Namespaces every key, so graphs (or tests) can share one Redis. */
  prefix: string;
  /** Longest a request waits on the cache before bypassing it. */
  timeoutMs: number;
  /** Subgraph entity cache TTL. */
  entityTtlSeconds: number;
  /** Upper bound on a cached response's TTL, whatever the cache hints say. */
  responseMaxTtlSeconds: number;
}

export const cacheEnv = {
  CACHE_ENABLED: booleanFlag(true),
  REDIS_URL: z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' }).optional(),
  CACHE_PREFIX: z.string().regex(/^[\w.-]{1,64}$/, '1-64 letters, digits, _ . -').default('commerce'),
  CACHE_TIMEOUT_MS: z.coerce.number().int().min(1).max(5000).default(50),
  ENTITY_CACHE_TTL_SECONDS: z.coerce.number().int().min(1).max(86_400).default(300),
  RESPONSE_CACHE_MAX_TTL_SECONDS: z.coerce.number().int().min(1).max(86_400).default(300),
};

type CacheEnv = z.infer<z.ZodObject<typeof cacheEnv>>;

export function cacheConfigOf(env: CacheEnv): CacheConfig {
  return {
    enabled: env.CACHE_ENABLED,
    redisUrl: env.REDIS_URL ?? null,
    prefix: env.CACHE_PREFIX,
    timeoutMs: env.CACHE_TIMEOUT_MS,
    entityTtlSeconds: env.ENTITY_CACHE_TTL_SECONDS,
    responseMaxTtlSeconds: env.RESPONSE_CACHE_MAX_TTL_SECONDS,
  };
}
