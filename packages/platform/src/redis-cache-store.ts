// The cache store on Redis, shared by every replica of every service. The clock is one counter;
// set and purge are Lua scripts, so "was a tag purged after this read began?" and the write happen
// as one step, and a purge removes every tagged entry and marks the tags in one step.
// All keys carry the prefix in braces ({prefix}:…), so on a Redis Cluster they share one slot and
// the scripts stay legal.
import { type CacheEntry, type CacheStore, checkEntry, checkPrefix, PURGE_MARK_TTL_MS } from './cache-store.js';
import { closeRedisClient, createRedisClient, luaScript, type RedisClient, runScript } from './redis-client.js';

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

const SCRIPTS = { clock: luaScript(CLOCK), set: luaScript(SET), purge: luaScript(PURGE) };

export interface RedisCacheOptions {
  /** A client of its own is made from the URL unless one is given (then the giver closes it). */
  url?: string;
  client?: RedisClient;
  prefix: string;
  /** Called on connection errors (at most once per outage). */
  onError?: (error: Error) => void;
}

export class RedisCacheStore implements CacheStore {
  readonly client: RedisClient;
  private readonly base: string;
  private readonly ownsClient: boolean;

  constructor(options: RedisCacheOptions) {
    this.base = `{${checkPrefix(options.prefix)}}:`;
    if (!options.client && !options.url) throw new Error('RedisCacheStore needs a url or a client');
    this.ownsClient = !options.client;
    this.client = options.client ?? createRedisClient(options.url as string, options.onError);
  }

  async clock(): Promise<number> {
    return Number(await this.run(SCRIPTS.clock, [this.clockKey], []));
  }

  async get(keys: readonly string[]): Promise<Array<string | null>> {
    if (keys.length === 0) return [];
    return (await this.client.mGet(keys.map((key) => this.entryKey(key)))) as Array<string | null>;
  }

  async set(entry: CacheEntry): Promise<boolean> {
    checkEntry(entry);
    const tags = [...new Set(entry.tags)];
    const keys = [this.clockKey, this.entryKey(entry.key), ...tags.map((tag) => this.markKey(tag)), ...tags.map((tag) => this.tagSetKey(tag))];
    const args = [String(entry.readStartedAt), entry.value, String(Math.ceil(entry.ttlMs)), String(tags.length)];
    return Number(await this.run(SCRIPTS.set, keys, args)) === 1;
  }

  async delete(keys: readonly string[]): Promise<void> {
    if (keys.length > 0) await this.client.del(keys.map((key) => this.entryKey(key)));
  }

  async purge(tags: readonly string[]): Promise<void> {
    const unique = [...new Set(tags)];
    if (unique.length === 0) return;
    const keys = [this.clockKey, ...unique.map((tag) => this.markKey(tag)), ...unique.map((tag) => this.tagSetKey(tag))];
    await this.run(SCRIPTS.purge, keys, [String(unique.length), String(PURGE_MARK_TTL_MS)]);
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

  private run(script: (typeof SCRIPTS)[keyof typeof SCRIPTS], keys: string[], args: string[]): Promise<unknown> {
    return runScript(this.client, script, keys, args);
  }
}
