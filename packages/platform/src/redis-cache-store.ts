// The cache store on Redis, shared by every replica of every service. The clock is one counter;
// set and purge are Lua scripts, so "was a tag purged after this read began?" and the write happen
// as one step, and a purge removes every tagged entry and marks the tags in one step.
// All keys carry the prefix in braces ({prefix}:…), so on a Redis Cluster they share one slot and
// the scripts stay legal.
import { type CacheEntry, type CacheStore, checkEntry, checkPrefix, PURGE_MARK_TTL_MS } from './cache-store.js';
import { type CommandParser, defineScript } from '@redis/client';
import { closeRedisClient, createRedisClient, type RedisClient } from './redis-client.js';

// The clock starts from Redis' own time in microseconds, so after a Redis restart (which loses the
// counter) it resumes above every value handed out before: a read that began before the restart
// can never pass for one that began after a later purge.
const INIT_CLOCK = `
if redis.call('EXISTS', KEYS[1]) == 0 then
  local t = redis.call('TIME')
  redis.call('SET', KEYS[1], t[1] .. string.rep('0', 6 - #t[2]) .. t[2], 'NX')
end`;

const CLOCK = `${INIT_CLOCK}
return redis.call('GET', KEYS[1])`;

// KEYS: clock, entry, purge marks (n), tag sets (n). ARGV: readStartedAt, value, ttlMs, n.
const SET = `
local started = tonumber(ARGV[1])
local clock = tonumber(redis.call('GET', KEYS[1]) or '-1')
if clock < started then return 0 end
local n = tonumber(ARGV[4])
for i = 1, n do
  local mark = redis.call('GET', KEYS[2 + i])
  if mark and tonumber(mark) > started then return 0 end
end
local ttl = tonumber(ARGV[3])
redis.call('SET', KEYS[2], ARGV[2], 'PX', ttl)
for i = 1, n do
  local set = KEYS[2 + n + i]
  redis.call('SADD', set, KEYS[2])
  if redis.call('PTTL', set) < ttl then redis.call('PEXPIRE', set, ttl) end
end
return 1`;

// KEYS: clock, purge marks (n), tag sets (n). ARGV: n, markTtlMs.
const PURGE = `${INIT_CLOCK}
local seq = string.format('%.0f', redis.call('INCR', KEYS[1]))
local n = tonumber(ARGV[1])
for i = 1, n do
  redis.call('SET', KEYS[1 + i], seq, 'PX', ARGV[2])
  local set = KEYS[1 + n + i]
  local members = redis.call('SMEMBERS', set)
  for j = 1, #members, 500 do
    redis.call('DEL', unpack(members, j, math.min(j + 499, #members)))
  end
  redis.call('DEL', set)
end
return seq`;

/** Declare these on the client the store is given (createRedisClient's `scripts`). */
export const cacheStoreScripts = {
  cacheClock: defineScript({
    SCRIPT: CLOCK,
    NUMBER_OF_KEYS: 1,
    parseCommand: (parser: CommandParser, clockKey: string) => parser.pushKey(clockKey),
    transformReply: (reply: unknown) => Number(reply),
  }),
  cacheSet: defineScript({
    SCRIPT: SET,
    parseCommand: (parser: CommandParser, keys: string[], readStartedAt: number, value: string, ttlMs: number, tags: number) => {
      parser.pushKeysLength(keys);
      parser.push(String(readStartedAt), value, String(ttlMs), String(tags));
    },
    transformReply: (reply: unknown) => Number(reply) === 1,
  }),
  cachePurge: defineScript({
    SCRIPT: PURGE,
    parseCommand: (parser: CommandParser, keys: string[], tags: number, markTtlMs: number) => {
      parser.pushKeysLength(keys);
      parser.push(String(tags), String(markTtlMs));
    },
    transformReply: (reply: unknown) => String(reply),
  }),
};

export type CacheStoreScripts = typeof cacheStoreScripts;

export interface RedisCacheOptions {
  /** A client of its own is made from the URL unless one is given (then the giver closes it). */
  url?: string;
  client?: RedisClient<CacheStoreScripts>;
  prefix: string;
  /** Called on connection errors (at most once per outage). */
  onError?: (error: Error) => void;
}

export class RedisCacheStore implements CacheStore {
  readonly client: RedisClient<CacheStoreScripts>;
  private readonly base: string;
  private readonly ownsClient: boolean;

  constructor(options: RedisCacheOptions) {
    this.base = `{${checkPrefix(options.prefix)}}:`;
    if (!options.client && !options.url) throw new Error('RedisCacheStore needs a url or a client');
    this.ownsClient = !options.client;
    this.client = options.client ?? createRedisClient(options.url as string, { scripts: cacheStoreScripts, onError: options.onError });
  }

  async clock(): Promise<number> {
    return this.client.cacheClock(this.clockKey);
  }

  async get(keys: readonly string[]): Promise<Array<string | null>> {
    if (keys.length === 0) return [];
    return (await this.client.mGet(keys.map((key) => this.entryKey(key)))) as Array<string | null>;
  }

  async set(entry: CacheEntry): Promise<boolean> {
    checkEntry(entry);
    const tags = [...new Set(entry.tags)];
    const keys = [this.clockKey, this.entryKey(entry.key), ...tags.map((tag) => this.markKey(tag)), ...tags.map((tag) => this.tagSetKey(tag))];
    return this.client.cacheSet(keys, entry.readStartedAt, entry.value, Math.ceil(entry.ttlMs), tags.length);
  }

  async delete(keys: readonly string[]): Promise<void> {
    if (keys.length > 0) await this.client.del(keys.map((key) => this.entryKey(key)));
  }

  async purge(tags: readonly string[]): Promise<void> {
    const unique = [...new Set(tags)];
    if (unique.length === 0) return;
    const keys = [this.clockKey, ...unique.map((tag) => this.markKey(tag)), ...unique.map((tag) => this.tagSetKey(tag))];
    await this.client.cachePurge(keys, unique.length, PURGE_MARK_TTL_MS);
  }

  async ping(): Promise<void> {
    await this.client.ping();
  }

  async close(): Promise<void> {
    if (this.ownsClient) await closeRedisClient(this.client);
  }

  private get clockKey(): string {
    return `${this.base}clock`;
  }

  private entryKey(key: string): string {
    return `${this.base}e:${key}`;
  }

  private markKey(tag: string): string {
    return `${this.base}purged:${tag}`;
  }

  private tagSetKey(tag: string): string {
    return `${this.base}tagged:${tag}`;
  }
}
