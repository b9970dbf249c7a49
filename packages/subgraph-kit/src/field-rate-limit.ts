// Limits on sensitive fields in the subgraphs (placing orders, free-text search), per client and
// shared by every replica. A decision is one atomic step in the store, so concurrent calls on any
// number of replicas are admitted exactly up to the limit: rate-limiter-flexible's RateLimiterRedis
// counts the call and returns the count in one Lua script (a counter that expires with its window);
// the embedded graph (no Redis) counts the same way in memory. The windows are fixed, starting at a
// client's first call (docs/adr/0004-field-limits-atomic.md says why not graphql-rate-limit, and
// why not a sliding window).
import { GraphQLError, type GraphQLResolveInfo } from 'graphql';
import type { Counter } from 'prom-client';
import { type RateLimiterAbstract, RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Identity } from '@commerce/platform/identity';
import type { RedisClient } from '@commerce/platform/redis-client';
import { within } from '@commerce/platform/within';

/** A rule: at most `max` calls per client within `window` (whole seconds, minutes or hours: `30s`, `1m`, `1h`). */
export interface FieldLimit {
  max: number;
  window: `${number}${'s' | 'm' | 'h'}`;
}

/** One limiter per rule; the store decides each call atomically (an over-limit call rejects with a RateLimiterRes). */
export type FieldLimitStore = (rule: { keyPrefix: string; points: number; duration: number }) => RateLimiterAbstract;

/** Counts in this process only: the embedded graph, where each subgraph has one. */
export const memoryFieldLimits: FieldLimitStore = (rule) => new RateLimiterMemory(rule);

/** Counts in Redis, shared by every replica; keys `<prefix>:fieldlimit:<Type.field>:<client>`, expiring with their window. */
export function redisFieldLimits(client: RedisClient, prefix: string): FieldLimitStore {
  // rejectIfRedisNotReady: while disconnected a call fails at once (and fails open) rather than waiting for the timeout.
  return (rule) => new RateLimiterRedis({ ...rule, keyPrefix: `${prefix}:${rule.keyPrefix}`, storeClient: client, useRedisPackage: true, rejectIfRedisNotReady: true });
}

const UNIT_SECONDS = { s: 1, m: 60, h: 3600 } as const;

/** A window in whole seconds (the Redis counter expires in seconds); anything else is a programming mistake. */
export function windowSeconds(window: FieldLimit['window']): number {
  const match = /^([1-9]\d*)([smh])$/.exec(window);
  if (!match) throw new Error(`field limit window "${window}": a whole number of s, m or h expected`);
  return Number(match[1]) * UNIT_SECONDS[match[2] as keyof typeof UNIT_SECONDS];
}

/** Who a limit follows: the user, the partner client, or the anonymous caller's address. */
export function limitIdentityOf(identity: Identity): string {
  switch (identity.kind) {
    case 'user':
      return `user:${identity.userId}`;
    case 'partner':
      return `partner:${identity.clientId}`;
    case 'service':
      return `service:${identity.service}`;
    default:
      return `ip:${identity.clientIp ?? 'unknown'}`;
  }
}

/** Throws RATE_LIMITED when the caller has used the field `max` times within `window`. */
export type FieldRateLimiter = (call: { identity: Identity; info: GraphQLResolveInfo }, limit: FieldLimit) => Promise<void>;

export interface FieldRateLimiterOptions {
  /** null: limits are off. */
  store: FieldLimitStore | null;
  rateLimited: Counter<'scope'>;
  /** Calls let through because the store did not answer (rate_limit_fallbacks_total). */
  fallbacks: Counter;
  timeoutMs: number;
  onStoreError?: (error: unknown) => void;
}

export function fieldRateLimiter(options: FieldRateLimiterOptions): FieldRateLimiter {
  const { store } = options;
  if (!store) return async () => {};
  const limiters = new Map<string, RateLimiterAbstract>();
  // Keyed by the field only, not its rule: replicas of two releases share one count while a rule changes.
  const limiterFor = (field: string, limit: FieldLimit) => {
    const rule = { keyPrefix: `fieldlimit:${field}`, points: limit.max, duration: windowSeconds(limit.window) };
    const id = `${field} ${rule.points}/${rule.duration}`;
    let limiter = limiters.get(id);
    if (!limiter) limiters.set(id, (limiter = store(rule)));
    return limiter;
  };
  return async ({ identity, info }, limit) => {
    const field = `${info.parentType.name}.${info.fieldName}`;
    const limiter = limiterFor(field, limit);
    try {
      await within(limiter.consume(limitIdentityOf(identity)), options.timeoutMs, 'field rate-limit store');
      return;
    } catch (outcome) {
      if (!(outcome instanceof RateLimiterRes)) {
        // The store is unreachable or slow: fail open, the gateway's budget still applies.
        options.fallbacks.inc();
        options.onStoreError?.(outcome);
        return;
      }
    }
    options.rateLimited.inc({ scope: 'field' });
    throw new GraphQLError(`Rate limited: ${field} allows ${limit.max} calls per ${limit.window}.`, {
      extensions: { code: 'RATE_LIMITED', field, max: limit.max, window: limit.window },
    });
  };
}
