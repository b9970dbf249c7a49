// Starts the whole graph for a test: the three subgraphs and the gateway, each listening on an
// ephemeral port and talking real HTTP, over a fresh database. Returns { query, stop, … }.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGatewayServer } from '@commerce/gateway';
import { gatewayConfig } from '@commerce/gateway/config';
import { createOrdersServer } from '@commerce/orders';
import { createProductsServer } from '@commerce/products';
import { signUserToken } from '@commerce/gateway/user-tokens';
import { userIdFor } from '@commerce/db/ids';
import { generateSeed } from '@commerce/db/seed-data';
import { type CacheStore, loadOrCreateDevKeys, MemoryCacheStore, type Service, subgraphConfig } from '@commerce/subgraph-kit';
import { MemoryEventBus } from '@commerce/messaging/memory-event-bus';
import { createUsersServer } from '@commerce/users';
import { expect, vi } from 'vitest';
import { cloneDatabase } from './postgres.js';
import { generateKeys, type GraphKeys } from '@commerce/harness/keys';
import { dropPrefix } from '@commerce/harness/redis';
import { uniquePrefix } from './redis.js';

export interface GraphQLResponse<T = Record<string, any>> {
  status: number;
  headers: Headers;
  data?: T | null;
  errors?: Array<{ message: string; path?: Array<string | number>; extensions?: Record<string, any> }>;
  extensions?: Record<string, any>;
}

export interface TestGraph {
  gatewayUrl: string;
  subgraphUrls: Record<'users' | 'products' | 'orders', string>;
  databaseUrl: string | null;
  /** The graph's namespace in Redis (cache keys, budgets, bus streams), when it runs on Redis. */
  redisPrefix: string | null;
  /** The embedded data dir (PGlite and dev keys), or null on PostgreSQL. */
  dataDir: string | null;
  query<T = Record<string, any>>(query: string, variables?: Record<string, unknown>, headers?: Record<string, string>): Promise<GraphQLResponse<T>>;
  /** sql_statements_total{source="request"} summed over the three subgraphs, read from their /metrics. */
  sqlStatements(): Promise<number>;
  /** The keys this graph trusts: the user-token secret and the identity key pair (PEM). */
  keys: GraphKeys;
  /** Stops one subgraph (it drains and closes, as on SIGTERM). */
  stopSubgraph(name: SubgraphName): Promise<void>;
  /** Starts a stopped subgraph again, on the same port. */
  restartSubgraph(name: SubgraphName): Promise<void>;
  /** Starts another replica of a subgraph on the same database, cache and bus (env adds to the graph's); stopped with the graph. */
  startReplica(name: SubgraphName, env?: Record<string, string>): Promise<{ url: string; service: Service }>;
  /** Starts another gateway replica on the same subgraphs and cache (env adds to the first one's). */
  startGateway(env?: Record<string, string>, subgraphUrls?: Partial<Record<SubgraphName, string>>): Promise<{ url: string; query: TestGraph['query']; service: Service }>;
  /** A valid bearer token for a seeded user (by email). */
  tokenFor(email: string, options?: { ttlSeconds?: number }): Promise<string>;
  /** Headers that sign in as a seeded user. */
  as(email: string): Promise<Record<string, string>>;
  stop(): Promise<void>;
}

export async function postGraphQL<T>(url: string, query: string, variables?: Record<string, unknown>, headers: Record<string, string> = {}): Promise<GraphQLResponse<T>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as Omit<GraphQLResponse<T>, 'status' | 'headers'>;
  return { status: response.status, headers: response.headers, ...body };
}

/**
 * Waits (at most 5 s) until a service's /ready says its cache reaches Redis: the client connects
 * after the service starts, and until then every lookup is a bypass (fail-open, by design), which
 * tests about hits and misses should not race. A cache that is off is not waited for; one still
 * unconnected after 5 s is left to the tests, which run against a fail-open cache as they would
 * in production.
 */
async function cacheConnected(graphqlUrl: string): Promise<void> {
  const cacheCheck = async () => {
    const report = (await (await fetch(graphqlUrl.replace(/\/graphql$/, '/ready'))).json()) as { checks?: { cache?: string } };
    return String(report.checks?.cache ?? '');
  };
  await vi.waitFor(async () => expect(await cacheCheck()).toMatch(/^(ok|off)/), { timeout: 5000, interval: 25 }).catch(() => {});
}

/** The value of one Prometheus series at a service's /metrics, matched by name and (a subset of) labels. */
export async function metricValue(graphqlUrl: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(graphqlUrl.replace(/\/graphql$/, '/metrics'))).text();
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  const line = text.split('\n').find((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && wanted.every((label) => l.includes(label)));
  if (!line) throw new Error(`${name}${JSON.stringify(labels)} not found at ${graphqlUrl}`);
  return Number(line.split(' ').at(-1));
}

/** The sum of every series of a metric whose labels include these (e.g. sql_statements_total over both targets). */
export async function metricSum(graphqlUrl: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(graphqlUrl.replace(/\/graphql$/, '/metrics'))).text();
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  return text
    .split('\n')
    .filter((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && wanted.every((label) => l.includes(label)))
    .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
}

export type SubgraphName = 'users' | 'products' | 'orders';

/** `template`: a clone of the run's seeded template; `url`: a database someone else made (and drops), e.g. on a primary with replicas. */
export type GraphDatabase = { kind: 'postgres'; template: string } | { kind: 'postgres'; url: string } | { kind: 'pglite' };

const ROLES = new Map(generateSeed().users.map((user) => [user.email, user.role]));

export interface GraphOptions {
  gatewayEnv?: Record<string, string>;
  /** Environment for all four services (e.g. CACHE_ENABLED=false). */
  env?: Record<string, string>;
  /** Cache in this Redis (under a prefix of the graph's own); default: one in-memory store shared by the four, as `npm start` does. */
  redisUrl?: string;
}

export async function startGraph(database: GraphDatabase, options: GraphOptions = {}): Promise<TestGraph> {
  const services: Service[] = [];
  let env: Record<string, string | undefined>;
  let cleanup: () => Promise<void>;
  let dbUrl: string | null = null;
  let dataDir: string | null = null;
  let keys: GraphKeys;
  let gatewayEnv: Record<string, string> = {};
  if (database.kind === 'postgres') {
    keys = generateKeys();
    gatewayEnv = { JWT_SECRET: keys.jwtSecret, IDENTITY_PRIVATE_KEY: keys.identityPrivateKey };
    const clone = 'template' in database ? await cloneDatabase(database.template) : { url: database.url, drop: async () => {} };
    dbUrl = clone.url;
    env = { NODE_ENV: 'test', LOG_LEVEL: 'silent', DATABASE_URL: dbUrl, MIGRATE_ON_START: 'true', SEED_ON_START: 'false', IDENTITY_PUBLIC_KEY: keys.identityPublicKey };
    cleanup = clone.drop;
  } else {
    // The embedded default: development keys generated under the data dir, as `npm start` does.
    const dir = mkdtempSync(join(tmpdir(), 'commerce-pglite-'));
    env = { NODE_ENV: 'test', LOG_LEVEL: 'silent', DATA_DIR: dir };
    gatewayEnv = { DATA_DIR: dir };
    keys = loadOrCreateDevKeys(dir);
    dataDir = dir;
    cleanup = async () => rmSync(dir, { recursive: true, force: true });
  }
  let cacheStore: CacheStore | undefined;
  const cacheEnv: Record<string, string> = options.redisUrl ? { REDIS_URL: options.redisUrl, CACHE_PREFIX: uniquePrefix('graph') } : {};
  if (!options.redisUrl) cacheStore = new MemoryCacheStore(uniquePrefix('graph'));
  // Budgets and field limits are off unless a test asks for them (test/rate-limits.e2e.ts,
  // test/hostile.e2e.ts): most tests send thousands of requests from one address, which is what
  // they exist to refuse.
  const limits = { RATE_LIMIT_ENABLED: 'false' };
  env = { ...env, ...limits, ...cacheEnv, ...options.env };
  gatewayEnv = { ...gatewayEnv, ...limits, ...cacheEnv, ...options.env };
  const tokenFor = (email: string, options: { ttlSeconds?: number } = {}) => {
    const role = ROLES.get(email);
    if (!role) throw new Error(`${email} is not a seeded user`);
    return signUserToken(keys.jwtSecret, { userId: userIdFor(email), role, ...options });
  };
  const stop = async () => {
    for (const service of services.reverse()) await service.stop();
    await bus?.close();
    if (options.redisUrl && cacheEnv.CACHE_PREFIX) await dropPrefix(options.redisUrl, cacheEnv.CACHE_PREFIX);
    await cleanup();
  };
  const factories = { users: createUsersServer, products: createProductsServer, orders: createOrdersServer };
  const running = new Map<SubgraphName, Service>();
  const ports = new Map<SubgraphName, number>();
  // Without Redis the four share one in-memory bus, as `npm start` does; with it, Redis Streams.
  const bus = options.redisUrl ? undefined : new MemoryEventBus();
  const listenSubgraph = async (name: SubgraphName, port: number, extraEnv: Record<string, string> = {}) => {
    // orders looks products up when an order is placed (products starts first).
    const productsUrl = ports.has('products') ? { PRODUCTS_URL: `http://127.0.0.1:${ports.get('products')}/graphql` } : {};
    const service = await factories[name](subgraphConfig(name, { ...env, ...productsUrl, ...extraEnv, PORT: '0' }), { cacheStore, bus });
    services.push(service);
    const listening = await service.listen(port, '127.0.0.1');
    if (options.redisUrl) await cacheConnected(listening.url);
    return { service, ...listening };
  };
  const startSubgraph = async (name: SubgraphName) => {
    const { service, url, port } = await listenSubgraph(name, ports.get(name) ?? 0);
    running.set(name, service);
    ports.set(name, port);
    return url;
  };
  try {
    const subgraphUrls = {} as TestGraph['subgraphUrls'];
    for (const name of Object.keys(factories) as SubgraphName[]) subgraphUrls[name] = await startSubgraph(name);
    const startGateway = async (extraEnv: Record<string, string> = {}, urls: Partial<Record<SubgraphName, string>> = {}) => {
      const all = { ...subgraphUrls, ...urls };
      const service = await createGatewayServer(
        gatewayConfig({
          NODE_ENV: 'test',
          LOG_LEVEL: 'silent',
          SUBGRAPH_URL_USERS: all.users,
          SUBGRAPH_URL_PRODUCTS: all.products,
          SUBGRAPH_URL_ORDERS: all.orders,
          ...gatewayEnv,
          ...options.gatewayEnv,
          ...extraEnv,
        }),
        { cacheStore },
      );
      services.push(service);
      const url = (await service.listen(0, '127.0.0.1')).url;
      if (options.redisUrl) await cacheConnected(url);
      return { url, service, query: ((query, variables, headers) => postGraphQL(url, query, variables, headers)) as TestGraph['query'] };
    };
    const gateway = (await startGateway()).service;
    const gatewayUrl = `http://127.0.0.1:${(gateway.httpServer.address() as { port: number }).port}/graphql`;
    return {
      gatewayUrl,
      subgraphUrls,
      databaseUrl: dbUrl,
      redisPrefix: cacheEnv.CACHE_PREFIX ?? null,
      dataDir,
      query: (query, variables, headers) => postGraphQL(gatewayUrl, query, variables, headers),
      sqlStatements: async () => (await Promise.all(Object.values(subgraphUrls).map((url) => metricSum(url, 'sql_statements_total', { source: 'request' })))).reduce((a, b) => a + b, 0),
      stop,
      stopSubgraph: async (name) => {
        const service = running.get(name);
        running.delete(name);
        services.splice(services.indexOf(service as Service), 1);
        await service?.stop();
      },
      restartSubgraph: async (name) => {
        await startSubgraph(name);
      },
      startReplica: async (name, extraEnv) => {
        const { service, url } = await listenSubgraph(name, 0, extraEnv);
        return { service, url };
      },
      keys,
      startGateway,
      tokenFor,
      as: async (email) => ({ authorization: `Bearer ${await tokenFor(email)}` }),
    };
  } catch (error) {
    await stop().catch(() => {});
    throw error;
  }
}
