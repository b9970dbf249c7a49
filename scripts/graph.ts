// npm start: the whole graph in ONE process — users, products and orders on their own ports and
// the gateway on :4000, talking real HTTP exactly as in production. Without DATABASE_URL each
// subgraph uses embedded PostgreSQL (PGlite) under .data/<name>/, migrated and seeded on first start.
// Without REDIS_URL the four share one in-memory cache store, so a subgraph's purge after a write
// reaches the gateway's response cache at once.
import { createGatewayServer } from '@commerce/gateway';
import { gatewayConfig } from '@commerce/gateway/config';
import { createOrdersServer } from '@commerce/orders';
import { createProductsServer } from '@commerce/products';
import { type CacheStore, ConfigError, MemoryCacheStore, type Service, SHUTDOWN_TIMEOUT_DEFAULT_MS, type ShutdownConfig, shutDown, statusLine as log, stopOnSignals, subgraphConfig } from '@commerce/subgraph-kit';
import { MemoryEventBus } from '@commerce/messaging/memory-event-bus';
import { startTracing } from '@commerce/platform/tracing';
import { createUsersServer } from '@commerce/users';

const services: Service[] = [];
// Gateway first, so no new requests reach the subgraphs while they drain (one deadline for all four).
const stopOrder = () => [...services].reverse();

try {
  // PORT belongs to the gateway here; each subgraph takes its own default port (4001-4003), or
  // USERS_PORT / PRODUCTS_PORT / ORDERS_PORT (two graphs on one machine, a test beside a dev graph).
  const portOf = (name: string) => process.env[`${name.toUpperCase()}_PORT`];
  const productsUrl = portOf('products') && !process.env.PRODUCTS_URL ? { PRODUCTS_URL: `http://127.0.0.1:${portOf('products')}/graphql` } : {};
  const env = { ...process.env, ...productsUrl, PORT: undefined };
  // One process, one tracer provider: every span carries service.name commerce-graph, and its
  // instrumentation scope (users, products, orders, gateway) tells the services apart.
  await startTracing(gatewayConfig(process.env).tracing, 'commerce-graph');
  const cache = subgraphConfig('users', env).cache;
  const cacheStore: CacheStore | undefined = cache.redisUrl ? undefined : new MemoryCacheStore(cache.prefix);
  // The order saga's events: one in-memory bus for the three, or Redis Streams with REDIS_URL.
  const bus = cache.redisUrl ? undefined : new MemoryEventBus();
  const subgraphs = { users: createUsersServer, products: createProductsServer, orders: createOrdersServer } as const;
  const urls: Record<string, string> = {};
  // Boot the three in parallel (each opens and, on first start, migrates and seeds its own database).
  const built = await Promise.all(
    Object.entries(subgraphs).map(async ([name, create]) => {
      const config = subgraphConfig(name as keyof typeof subgraphs, { ...env, PORT: portOf(name) });
      const service = await create(config, { cacheStore, bus });
      services.push(service);
      return { name, config, service };
    }),
  );
  for (const { name, config, service } of built) {
    const { url } = await service.listen(config.port, config.host);
    urls[`SUBGRAPH_URL_${name.toUpperCase()}`] = url;
    log(`${name} ready at ${url}`);
  }
  const config = gatewayConfig({ ...urls, ...process.env });
  // Its subgraphs share in-memory stores (and PGlite) with the gateway inside this one process, so
  // gateway workers would each see stores of their own: that takes the gateway alone, on Redis.
  if (config.workers > 1) log(`GATEWAY_WORKERS=${config.workers} is not used by the embedded graph (one process); it applies to the gateway alone: npm run start:gateway, node dist/gateway/index.js`);
  const gateway = await createGatewayServer(config, { cacheStore });
  services.push(gateway);
  const { url } = await gateway.listen(config.port, config.host);
  log(`gateway ready at ${url} (${(performance.now() / 1000).toFixed(1)} s after process start)`);
  log(`Apollo Sandbox: http://localhost:${config.port}/`);
  if (config.explorerEnabled) log(`GraphiQL (works offline): http://localhost:${config.port}/graphiql`);
  // Every service read the same SHUTDOWN_* variables; the gateway's settings stand for all four.
  stopOnSignals('graph', stopOrder, config.shutdown);
} catch (error) {
  log(error instanceof ConfigError ? error.message : `failed to start: ${(error as Error).stack ?? String(error)}`);
  const shutdown: ShutdownConfig = { timeoutMs: SHUTDOWN_TIMEOUT_DEFAULT_MS, readyDelayMs: 0 };
  await shutDown('graph', stopOrder(), shutdown, 'failed to start');
  process.exit(1);
}
