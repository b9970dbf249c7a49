// One way to talk to Redis for everything that shares state through it (cache, budgets, bus):
// commands fail at once while disconnected (callers fall back instead of queueing), the client
// reconnects by itself, a service starts while Redis is down, and Lua scripts run by EVALSHA.
import { createHash } from 'node:crypto';
import { createClient, type RedisClientType } from '@redis/client';

export type RedisClient = RedisClientType;

export function createRedisClient(url: string, onError?: (error: Error) => void): RedisClient {
  const client = createClient({
    url,
    disableOfflineQueue: true,
    socket: { connectTimeout: 1000, reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 1000) },
  }) as RedisClientType;
  let reported = false;
  client.on('error', (error: Error) => {
    if (reported) return;
    reported = true; // once per outage
    onError?.(error);
  });
  client.on('ready', () => {
    reported = false;
  });
  // Not awaited: the service starts (and serves, falling back) while Redis is down.
  client.connect().catch(() => {});
  return client;
}

/** Waits for replies in flight when connected; otherwise (Redis down) just drops the socket. */
export async function closeRedisClient(client: RedisClient): Promise<void> {
  if (client.isReady) await client.close();
  else if (client.isOpen) client.destroy();
}

export interface LuaScript {
  source: string;
  sha: string;
}

export const luaScript = (source: string): LuaScript => ({ source, sha: createHash('sha1').update(source).digest('hex') });

/** EVALSHA, loading the script with EVAL the first time this Redis sees it. */
export async function runScript(client: RedisClient, script: LuaScript, keys: readonly string[], args: readonly string[]): Promise<unknown> {
  const tail = [String(keys.length), ...keys, ...args];
  try {
    return await client.sendCommand(['EVALSHA', script.sha, ...tail]);
  } catch (error) {
    if (!String((error as Error).message).startsWith('NOSCRIPT')) throw error;
    return client.sendCommand(['EVAL', script.source, ...tail]);
  }
}
