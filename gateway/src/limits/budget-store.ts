// Per-client budgets as token buckets: each client has `capacity` points that refill at
// `refillPerSecond`; an operation takes its cost or is refused. In Redis the take is one Lua
// script using Redis' own clock, so every gateway replica draws on the same bucket and replica
// clocks never matter; in memory for the embedded graph. If Redis fails or is slow, a local
// in-memory bucket decides instead (fail-open: limited per replica, never an error).
import { checkPrefix } from '@commerce/platform/cache-store';
import { type CommandParser, defineScript, type RedisClient } from '@commerce/platform/redis-client';
import { within } from '@commerce/platform/within';
import { LRUCache } from 'lru-cache';

export interface BucketLimit {
  capacity: number;
  refillPerSecond: number;
}

export interface BudgetDecision {
  allowed: boolean;
  /** Points left after this operation (or now, when refused). */
  remaining: number;
  /** Seconds until the bucket is full again. */
  resetSeconds: number;
  /** When refused: seconds until the cost fits. */
  retryAfterSeconds: number;
  /** Where the decision was made: the shared store, or this replica alone (store unreachable). */
  source: 'shared' | 'local';
}

export interface BudgetStore {
  take(key: string, cost: number, limit: BucketLimit): Promise<BudgetDecision>;
  close(): Promise<void>;
}

/** The arithmetic both stores share: refill since the last take, then take if it fits. */
export function bucketStep(tokens: number, elapsedMs: number, cost: number, limit: BucketLimit): { allowed: boolean; tokens: number } {
  const refilled = Math.min(limit.capacity, tokens + (elapsedMs / 1000) * limit.refillPerSecond);
  return refilled >= cost ? { allowed: true, tokens: refilled - cost } : { allowed: false, tokens: refilled };
}

function decision(allowed: boolean, tokens: number, cost: number, limit: BucketLimit, source: BudgetDecision['source']): BudgetDecision {
  return {
    allowed,
    remaining: Math.floor(tokens),
    resetSeconds: Math.ceil((limit.capacity - tokens) / limit.refillPerSecond),
    retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil((cost - tokens) / limit.refillPerSecond)),
    source,
  };
}

export class MemoryBudgetStore implements BudgetStore {
  private readonly buckets: LRUCache<string, { tokens: number; at: number }>;

  constructor(maxBuckets = 100_000, private readonly now: () => number = Date.now) {
    this.buckets = new LRUCache({ max: maxBuckets });
  }

  async take(key: string, cost: number, limit: BucketLimit): Promise<BudgetDecision> {
    return this.takeNow(key, cost, limit);
  }

  takeNow(key: string, cost: number, limit: BucketLimit, source: BudgetDecision['source'] = 'shared'): BudgetDecision {
    const now = this.now();
    const bucket = this.buckets.get(key);
    const step = bucketStep(bucket?.tokens ?? limit.capacity, bucket ? now - bucket.at : 0, cost, limit);
    this.buckets.set(key, { tokens: step.tokens, at: now });
    return decision(step.allowed, step.tokens, cost, limit, source);
  }

  async close(): Promise<void> {
    this.buckets.clear();
  }
}

// KEYS: the bucket. ARGV: capacity, refillPerSecond, cost. Returns {allowed, tokens as a string}.
const TAKE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local bucket = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(bucket[1]) or capacity
local at = tonumber(bucket[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) / 1000 * rate)
local allowed = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', tokens), 'at', string.format('%.0f', now))
redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - tokens) / rate * 1000) + 1000)
return {allowed, string.format('%.6f', tokens)}`;

/** Declare these on the client the store is given (createRedisClient's `scripts`). */
export const budgetStoreScripts = {
  budgetTake: defineScript({
    SCRIPT: TAKE,
    NUMBER_OF_KEYS: 1,
    parseCommand: (parser: CommandParser, bucket: string, limit: BucketLimit, cost: number) => {
      parser.pushKey(bucket);
      parser.push(String(limit.capacity), String(limit.refillPerSecond), String(cost));
    },
    transformReply: (reply: unknown) => {
      const [allowed, tokens] = reply as [number, string];
      return { allowed: allowed === 1, tokens: Number(tokens) };
    },
  }),
};

export type BudgetStoreScripts = typeof budgetStoreScripts;

export class RedisBudgetStore implements BudgetStore {
  private readonly base: string;

  constructor(private readonly client: RedisClient<BudgetStoreScripts>, prefix: string) {
    this.base = `${checkPrefix(prefix)}:budget:`;
  }

  async take(key: string, cost: number, limit: BucketLimit): Promise<BudgetDecision> {
    const { allowed, tokens } = await this.client.budgetTake(this.base + key, limit, cost);
    return decision(allowed, tokens, cost, limit, 'shared');
  }

  async close(): Promise<void> {}
}

/** The shared store within a timeout, else this replica's own buckets (counted by the caller via `source`). */
export class FailOpenBudgetStore implements BudgetStore {
  private readonly local = new MemoryBudgetStore();
  private downUntil = 0;

  constructor(private readonly shared: BudgetStore, private readonly timeoutMs: number, private readonly onFallback?: (error: unknown) => void) {}

  async take(key: string, cost: number, limit: BucketLimit): Promise<BudgetDecision> {
    if (Date.now() >= this.downUntil) {
      try {
        return await within(this.shared.take(key, cost, limit), this.timeoutMs, 'budget store');
      } catch (error) {
        if (Date.now() >= this.downUntil) this.onFallback?.(error);
        this.downUntil = Date.now() + 1000;
      }
    }
    return this.local.takeNow(key, cost, limit, 'local');
  }

  async close(): Promise<void> {
    await this.shared.close();
  }
}
