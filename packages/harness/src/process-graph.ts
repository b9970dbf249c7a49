// The graph in production shape: each service its own process (`npm run start:<service>`, or the
// compiled build under plain node), on fixed free ports so a killed subgraph can come back where
// the gateway expects it.
import { join } from 'node:path';
import { signUserToken } from '@commerce/gateway/user-tokens';
import { userIdFor } from '@commerce/db/ids';
import { generateKeys } from './keys.js';
import { freePort, run, type Run } from './processes.js';
import { dropPrefix, REDIS_URL } from './redis.js';

export const SUBGRAPH_NAMES = ['users', 'products', 'orders'] as const;
export type ServiceName = (typeof SUBGRAPH_NAMES)[number] | 'gateway';

export interface ProcessGraph {
  gatewayUrl: string;
  subgraphUrls: Record<(typeof SUBGRAPH_NAMES)[number], string>;
  /** The running process of a service (the last one started). */
  process(name: ServiceName): Run;
  /** Starts a service again on its port (after it was killed); resolves when it says ready. */
  start(name: ServiceName): Promise<Run>;
  /** Signals a service's whole process group. */
  signal(name: ServiceName, signal: NodeJS.Signals): void;
  /** A bearer token for a seeded user, signed with the secret this gateway trusts. */
  tokenFor(email: string, role?: 'USER' | 'ADMIN'): Promise<string>;
  /** SIGKILLs everything and waits for the processes to be gone. */
  stop(): Promise<void>;
  /** The environment a gateway of this graph runs with (keys, subgraph URLs), to start another replica. */
  gatewayEnv(): Record<string, string>;
}

export interface ProcessGraphOptions {
  /** A production build (scripts/build.ts): run `node <build>/<service>/index.js` instead of `npm run start:<service>`. */
  build?: string;
  /** Added to every service's environment. */
  env?: Record<string, string>;
  gatewayEnv?: Record<string, string>;
  /** Another checkout of the project to run the services from (a benchmark's baseline). */
  root?: string;
}

export async function startProcessGraph(databaseUrl: string, options: ProcessGraphOptions = {}): Promise<ProcessGraph> {
  const { jwtSecret, identityPrivateKey, identityPublicKey } = generateKeys();
  const ports = new Map<ServiceName, number>();
  for (const name of [...SUBGRAPH_NAMES, 'gateway'] as const) ports.set(name, await freePort());
  const url = (name: ServiceName) => `http://127.0.0.1:${ports.get(name)}/graphql`;
  // One namespace per graph in the shared Redis (cache keys, budgets, the bus's streams).
  const prefix = `pgraph-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const envOf = (name: ServiceName): Record<string, string> =>
    name === 'gateway'
      ? {
          CACHE_PREFIX: prefix,
          ...options.env,
          PORT: String(ports.get(name)),
          JWT_SECRET: jwtSecret,
          IDENTITY_PRIVATE_KEY: identityPrivateKey,
          ...Object.fromEntries(SUBGRAPH_NAMES.map((subgraph) => [`SUBGRAPH_URL_${subgraph.toUpperCase()}`, url(subgraph)])),
          ...options.gatewayEnv,
        }
      : {
          // The saga's bus: separate processes need Redis (a test may point elsewhere).
          REDIS_URL,
          CACHE_PREFIX: prefix,
          ...options.env,
          PORT: String(ports.get(name)),
          PRODUCTS_URL: url('products'),
          DATABASE_URL: databaseUrl,
          SEED_ON_START: 'false',
          IDENTITY_PUBLIC_KEY: identityPublicKey,
        };
  const running = new Map<ServiceName, Run>();
  const all: Run[] = [];
  const start = async (name: ServiceName) => {
    const child = options.build ? run('', envOf(name), { compiled: join(options.build, name, 'index.js'), cwd: options.root }) : run(`start:${name}`, envOf(name), { cwd: options.root });
    running.set(name, child);
    all.push(child);
    await child.ready;
    return child;
  };
  const stop = async () => {
    for (const child of all) child.kill('SIGKILL');
    await Promise.all(all.map((child) => child.exited));
    await dropPrefix(options.env?.REDIS_URL ?? REDIS_URL, options.env?.CACHE_PREFIX ?? prefix);
  };
  try {
    await Promise.all(SUBGRAPH_NAMES.map(start));
    await start('gateway');
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    gatewayUrl: url('gateway'),
    subgraphUrls: { users: url('users'), products: url('products'), orders: url('orders') },
    process: (name) => running.get(name) as Run,
    start,
    signal: (name, signal) => running.get(name)?.kill(signal),
    tokenFor: (email, role = 'USER') => signUserToken(jwtSecret, { userId: userIdFor(email), role }),
    stop,
    gatewayEnv: () => envOf('gateway'),
  };
}
