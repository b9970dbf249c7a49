// Limits on sensitive fields in the subgraphs (placing orders, free-text search), per client and
// shared by every replica: graphql-rate-limit's sliding window over a store in Redis (its bundled
// RedisStore hangs with node-redis 5) or in memory for the embedded graph. The library reads the
// window, then writes it back; the Redis store merges what it is given with what is stored (per
// timestamp, the larger count), so two replicas writing at once do not erase each other's calls.
import { getGraphQLRateLimiter, type GraphQLRateLimitDirectiveArgs, type Identity as LimitIdentity, type Store } from 'graphql-rate-limit';
import { GraphQLError, type GraphQLResolveInfo } from 'graphql';
import type { Counter } from 'prom-client';
import type { Identity } from '@commerce/platform/identity';
import { luaScript, type RedisClient, runScript } from '@commerce/platform/redis-client';
import { within } from '@commerce/platform/within';
import { LRUCache } from 'lru-cache';

export class MemoryRateLimitStore implements Store {
  private readonly windows = new LRUCache<string, { timestamps: readonly number[] }>({ max: 100_000 });

  getForIdentity(identity: LimitIdentity): readonly number[] {
    return this.windows.get(keyOf(identity))?.timestamps ?? [];
  }

  setForIdentity(identity: LimitIdentity, timestamps: readonly number[], windowMs = 60_000): void {
    this.windows.set(keyOf(identity), { timestamps }, { ttl: windowMs });
  }
}

// KEYS: the window. ARGV: timestamps as JSON, windowMs. Per timestamp, keeps the larger count.
const MERGE = luaScript(`
local given = cjson.decode(ARGV[1])
local stored = cjson.decode(redis.call('GET', KEYS[1]) or '[]')
local t = redis.call('TIME')
local oldest = tonumber(t[1]) * 1000 - tonumber(ARGV[2])
local function counts(list)
  local c = {}
  for _, ts in ipairs(list) do if ts > oldest then c[ts] = (c[ts] or 0) + 1 end end
  return c
end
local a, b = counts(given), counts(stored)
for ts, n in pairs(b) do if (a[ts] or 0) < n then a[ts] = n end end
local merged = {}
for ts, n in pairs(a) do for _ = 1, n do merged[#merged + 1] = ts end end
if #merged == 0 then redis.call('DEL', KEYS[1]) return 0 end
redis.call('SET', KEYS[1], cjson.encode(merged), 'PX', ARGV[2])
return #merged`);

export class RedisRateLimitStore implements Store {
  constructor(private readonly client: RedisClient, private readonly prefix: string) {}

  async getForIdentity(identity: LimitIdentity): Promise<readonly number[]> {
    const text = await this.client.get(this.key(identity));
    return text ? (JSON.parse(text) as number[]) : [];
  }

  async setForIdentity(identity: LimitIdentity, timestamps: readonly number[], windowMs = 60_000): Promise<void> {
    await runScript(this.client, MERGE, [this.key(identity)], [JSON.stringify(timestamps), String(windowMs)]);
  }

  private key(identity: LimitIdentity): string {
    return `${this.prefix}:ratelimit:${keyOf(identity)}`;
  }
}

const keyOf = (identity: LimitIdentity): string => `${identity.contextIdentity}:${identity.fieldIdentity}`;

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

export type FieldLimit = Pick<GraphQLRateLimitDirectiveArgs, 'max' | 'window' | 'identityArgs' | 'arrayLengthField'>;

/** Throws RATE_LIMITED when the caller has used the field `max` times within `window`. */
export type FieldRateLimiter = (call: { args: Record<string, unknown>; identity: Identity; info: GraphQLResolveInfo }, limit: FieldLimit) => Promise<void>;

export function fieldRateLimiter(options: { store: Store | null; rateLimited: Counter<'scope'>; timeoutMs: number; onStoreError?: (error: unknown) => void }): FieldRateLimiter {
  const { store } = options;
  if (!store) return async () => {};
  const limiter = getGraphQLRateLimiter({ store, identifyContext: (identity: Identity) => limitIdentityOf(identity) });
  return async ({ args, identity, info }, limit) => {
    let message: string | undefined;
    try {
      message = await within(limiter({ parent: undefined, args, context: identity, info }, limit), options.timeoutMs, 'rate-limit store');
    } catch (error) {
      options.onStoreError?.(error); // the store is unreachable or slow: fail open, the gateway budget still applies
      return;
    }
    if (message === undefined) return;
    options.rateLimited.inc({ scope: 'field' });
    throw new GraphQLError(`Rate limited: ${info.parentType.name}.${info.fieldName} allows ${limit.max} calls per ${limit.window}.`, {
      extensions: { code: 'RATE_LIMITED', field: `${info.parentType.name}.${info.fieldName}`, max: limit.max, window: limit.window },
    });
  };
}
