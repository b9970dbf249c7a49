// One way to talk to Redis for everything that shares state through it (cache, budgets, bus):
// commands fail at once while disconnected (callers fall back instead of queueing), the client
// reconnects by itself, and a service starts while Redis is down.
//
// Lua scripts are node-redis scripts (defineScript): each store exports a map of its scripts, and
// whoever creates the client declares the maps of every store that will share it; the scripts
// become typed client methods, run by EVALSHA and loaded by EVAL when a Redis has not seen them
// (NOSCRIPT). The client's type carries them, so a store handed a client without its scripts does
// not compile.
import { createClient, type RedisClientType, type RedisScripts } from '@redis/client';

// What a store needs to declare its scripts, so that the platform stays the one Redis dependency.
export { type CommandParser, defineScript } from '@redis/client';

/**
 * A client with the scripts `S` declared at creation. RESP2 (node-redis' default, pinned): the
 * stream commands' typed replies are RESP2's (under RESP3 node-redis 5 leaves XREADGROUP's raw).
 */
export type RedisClient<S extends RedisScripts = {}> = RedisClientType<{}, {}, S, 2>;

export interface RedisClientOptions<S extends RedisScripts> {
  /** The scripts of every store that will use this client (each store exports its own map; see combineScripts). */
  scripts?: S;
  /** Called on connection errors (at most once per outage). */
  onError?: (error: Error) => void;
}

export function createRedisClient<S extends RedisScripts = {}>(url: string, options: RedisClientOptions<S> = {}): RedisClient<S> {
  if (options.scripts) checkScriptNames(options.scripts);
  const client = createClient({
    url,
    RESP: 2,
    scripts: options.scripts,
    disableOfflineQueue: true,
    socket: { connectTimeout: 1000, reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 1000) },
  }) as RedisClient<S>;
  let reported = false;
  client.on('error', (error: Error) => {
    if (reported) return;
    reported = true; // once per outage
    options.onError?.(error);
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

type Combined<T extends RedisScripts[]> = T extends [infer First extends RedisScripts, ...infer Rest extends RedisScripts[]] ? First & Combined<Rest> : {};

/** Several stores' script maps for one client. A name in two maps is a mistake: one script would silently replace the other. */
export function combineScripts<T extends RedisScripts[]>(...maps: T): Combined<T> {
  const combined: RedisScripts = {};
  for (const map of maps) {
    for (const [name, script] of Object.entries(map)) {
      if (name in combined) throw new Error(`two Redis scripts are both named ${name}`);
      combined[name] = script;
    }
  }
  return combined as Combined<T>;
}

let plainClient: RedisClient | undefined;

/** A script becomes a client method, so one named like a command (`set`) or a client member (`connect`) would replace it. */
function checkScriptNames(scripts: RedisScripts): void {
  plainClient ??= createClient() as RedisClient; // never connected: only its methods are looked at
  const taken = Object.keys(scripts).filter((name) => name in plainClient!);
  if (taken.length > 0) throw new Error(`Redis script names would replace client methods: ${taken.join(', ')}`);
}
