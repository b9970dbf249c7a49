// What every subgraph does the same way: open and prepare its database, count SQL statements,
// build the federated schema from schema/<name>.graphql, and wrap it in the shared HTTP shell.
import { createHash, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import type { BaseContext } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/index.js';
import { migrate } from '@commerce/db/migrate';
import { seed } from '@commerce/db/seed';
import { type GraphQLResolveInfo, parse } from 'graphql';
import { unauthenticatedRequest, viewerOf, type Viewer } from '@commerce/platform/auth';
import type { CacheStore } from '@commerce/platform/cache-store';
import { cacheTagsPlugin } from '@commerce/platform/cache-tags';
import { loadOrCreateDevKeys } from '@commerce/platform/dev-keys';
import { currentDeadline } from '@commerce/platform/deadline';
import { ConfigError } from '@commerce/platform/env';
import { inBackground } from '@commerce/messaging/background';
import { ANONYMOUS, IDENTITY_HEADER, type Identity, IdentityError, identityPublicKey, IdentityVerifier } from '@commerce/platform/identity';
import type { SubgraphConfig } from './config.js';
import { type Database, openDatabase } from './database.js';
import { enablePrismaTracing } from './prisma-tracing.js';
import { openSchemaRunner } from './schema-runner.js';
import { createLogger, type Logger } from '@commerce/platform/logger';
import { type FieldLimit, fieldRateLimiter, type FieldRateLimiter, memoryFieldLimits, redisFieldLimits } from './field-rate-limit.js';
import { cacheCounters, createMetrics, rateLimitedCounter, rateLimitFallbacksCounter, replicaFallbacksCounter, replicaLagGauge, type ServiceMetrics, sqlStatementsCounter } from '@commerce/platform/metrics';
import { type OpenedCache, openCache } from '@commerce/platform/open-cache';
import { type CacheStoreScripts, cacheStoreScripts } from '@commerce/platform/redis-cache-store';
import { closeRedisClient, createRedisClient, type RedisClient } from '@commerce/platform/redis-client';
import { runtimeFile } from '@commerce/platform/runtime-files';
import { createService, type Service } from '@commerce/platform/service';
import { ReadRouter } from './replicas.js';
import { RequestCache, SubgraphCache } from './subgraph-cache.js';
import { MemoryWalPositions, RedisWalPositions } from './wal-positions.js';
import type { EventBus } from '@commerce/messaging/event-bus';
import { MemoryEventBus } from '@commerce/messaging/memory-event-bus';
import { RedisEventBus } from '@commerce/messaging/redis-event-bus';

/** The part of every subgraph's per-request context that the shell provides. */
export interface RequestContext extends BaseContext {
  requestId: string;
  /** Who is asking, as the gateway vouched (anonymous when nothing was forwarded). */
  identity: Identity;
  /** That identity as the gateway signed it, to forward on a call to another subgraph (null: none came). */
  forwardedIdentity: string | null;
  /** When the caller stops waiting (epoch ms, less a margin for the answer), from `x-deadline-ms`; null: no deadline. */
  deadline: number | null;
  /** The signed-in user, if the caller is one. */
  viewer: Viewer | null;
  log: Logger;
  /** Entities through the shared cache, the tags of what this request read, purges after writes. */
  cache: RequestCache;
  /** Throws RATE_LIMITED when this caller has used the field too often (shared by every replica). */
  limitField(info: GraphQLResolveInfo, limit: FieldLimit): Promise<void>;
}

export interface SubgraphRuntime {
  config: SubgraphConfig;
  logger: Logger;
  metrics: ServiceMetrics;
  database: Database;
  /** Read replicas: which reads may use them, their lag, write positions (null without replicas). */
  reads: ReadRouter | null;
  /** Verifies identities forwarded by the gateway. */
  identityKey: KeyObject;
  cache: SubgraphCache;
  openedCache: OpenedCache;
  fieldLimits: FieldRateLimiter;
  /** The client for REDIS_URL, or null without one. */
  redis: RedisClient<CacheStoreScripts> | null;
  /** The saga's event bus: Redis Streams with REDIS_URL, else the one the embedded graph shares. */
  bus: EventBus;
  /** The bus was given (shared): its owner closes it. */
  sharedBus: boolean;
}

/** What a subgraph may be given instead of building it from its config. */
export interface SubgraphDependencies {
  /** The embedded graph shares one in-memory store between its services. */
  cacheStore?: CacheStore;
  /** ... and one in-memory event bus. */
  bus?: EventBus;
}

export const schemaPath = (name: string): string => runtimeFile(import.meta.dirname, join('schema', `${name}.graphql`));

/** Cached rows are keyed by the Prisma schema they were read with, so a migration never meets old shapes. */
function rowShapeVersion(name: string): string {
  return createHash('sha256').update(readFileSync(runtimeFile(import.meta.dirname, join('prisma', name, 'schema.prisma')))).digest('hex').slice(0, 12);
}

/** Opens the subgraph's database, migrates and seeds it as configured. */
export async function prepareSubgraph(config: SubgraphConfig, dependencies: SubgraphDependencies = {}): Promise<SubgraphRuntime> {
  await enablePrismaTracing();
  const logger = createLogger(config.name, config.logLevel, { bufferBytes: config.logBufferBytes });
  const identityKey = identityPublicKey(config.identityPublicKey ?? loadOrCreateDevKeys(config.dataDir).identityPublicKey);
  const metrics = createMetrics(config.name);
  const statements = sqlStatementsCounter(metrics.registry);
  const database = openDatabase(config.database, { poolSize: config.databasePoolSize, onStatement: (target) => statements.inc({ source: inBackground() ? 'background' : 'request', target }) });
  try {
    if (config.migrateOnStart || config.seedOnStart) {
      const runner = await openSchemaRunner(database);
      try {
        if (config.migrateOnStart) {
          const applied = await migrate(runner, config.name);
          if (applied.length > 0) logger.info({ applied }, 'migrations applied');
        }
        if (config.seedOnStart) {
          const started = Date.now();
          if (await seed(runner, config.name)) logger.info({ ms: Date.now() - started }, 'database seeded');
        }
      } finally {
        await runner.release();
      }
    }
  } catch (error) {
    await database.close().catch(() => {});
    throw error;
  }
  // One client for the entity cache, the field limits and the bus, declaring the cache's scripts
  // (the field-limit store still sends its own by EVALSHA).
  const redis = config.cache.redisUrl
    ? createRedisClient(config.cache.redisUrl, {
        scripts: cacheStoreScripts,
        onError: (error) => logger.warn({ err: error.message }, 'redis connection error; cache and field limits fall back until it reconnects'),
      })
    : null;
  const openedCache = openCache(config.cache, logger, redis, dependencies.cacheStore);
  // Write positions are shared by every process of the subgraph through Redis; without it only this
  // process's own writes are known, which is right only when it is the subgraph's one process.
  const reads = database.replicas
    ? new ReadRouter({
        link: database.replicas,
        positions: redis ? new RedisWalPositions(redis, `${config.cache.prefix}:wal-positions:${config.name}`, config.cache.timeoutMs) : new MemoryWalPositions(),
        maxLagMs: config.replicaMaxLagMs,
        lag: replicaLagGauge(metrics.registry),
        fallbacks: replicaFallbacksCounter(metrics.registry),
        logger,
      })
    : null;
  await reads?.start();
  const cache = new SubgraphCache(openedCache.cache, `entity:${config.name}:${rowShapeVersion(config.name)}`, config.cache.entityTtlSeconds * 1000, cacheCounters(metrics.registry), reads);
  const fieldLimits = fieldRateLimiter({
    // Without Redis each process counts alone (the embedded graph has one process per subgraph).
    store: !config.rateLimitEnabled ? null : redis ? redisFieldLimits(redis, config.cache.prefix) : memoryFieldLimits,
    rateLimited: rateLimitedCounter(metrics.registry),
    fallbacks: rateLimitFallbacksCounter(metrics.registry),
    timeoutMs: Math.max(100, config.cache.timeoutMs),
    onStoreError: (error) => logger.warn({ err: String(error) }, 'field rate-limit store unavailable; allowing the call'),
  });
  // Given (the embedded graph's, shared by its services), else Redis Streams. A subgraph alone in
  // its process without REDIS_URL gets a bus of its own: fine for users (it publishes nothing), and
  // orders and products refuse that at start (their events would reach nobody).
  const bus = dependencies.bus ?? (redis ? new RedisEventBus(redis, { prefix: config.cache.prefix, logger }) : new MemoryEventBus());
  return { config, logger, metrics, database, reads, identityKey, cache, openedCache, fieldLimits, redis, bus, sharedBus: dependencies.bus !== undefined };
}

/**
 * The caller's identity from the gateway's signed header: anonymous when absent; a forged,
 * expired or malformed one rejects the whole request with HTTP 401.
 */
/** For orders and products: their events must reach the other services, so a bus of their own will not do. */
export function requireSharedBus(runtime: SubgraphRuntime): void {
  if (runtime.sharedBus || runtime.redis) return;
  throw new ConfigError([`REDIS_URL: required to run ${runtime.config.name} as a process of its own (the order saga's events travel through Redis Streams); npm start runs everything in one process without it`]);
}

export async function identityFrom(req: IncomingMessage, verifier: IdentityVerifier): Promise<Identity> {
  const header = req.headers[IDENTITY_HEADER];
  if (header === undefined) return ANONYMOUS;
  try {
    if (typeof header !== 'string') throw new IdentityError('one identity header expected');
    return await verifier.verify(header);
  } catch (error) {
    const reason = error instanceof IdentityError ? error.message : 'identity not verifiable';
    throw unauthenticatedRequest(reason);
  }
}

export interface SubgraphServiceOptions<C extends RequestContext> {
  runtime: SubgraphRuntime;
  /** The generated, typed resolver map of the subgraph (see codegen.ts). */
  resolvers: object;
  /** Adds the subgraph's own parts (loaders, repository) to the shared request context. */
  context: (base: RequestContext) => C;
  /** Closes what the subgraph opened on top of the database (the Prisma client). */
  onStop?: () => Promise<void>;
}

export async function createSubgraphService<C extends RequestContext>(options: SubgraphServiceOptions<C>): Promise<Service> {
  const { config, logger, metrics, database, reads, identityKey, cache, openedCache, fieldLimits, redis } = options.runtime;
  const typeDefs = parse(readFileSync(schemaPath(config.name), 'utf8'));
  const identities = new IdentityVerifier(identityKey);
  return createService<C>({
    etag: false, // nobody asks a subgraph conditionally
    name: config.name,
    nodeEnv: config.nodeEnv,
    logger,
    metrics,
    shutdownTimeoutMs: config.shutdown.timeoutMs,
    apollo: {
      schema: buildSubgraphSchema({ typeDefs, resolvers: options.resolvers as GraphQLResolverMap<unknown> }),
      // Inline traces (ftv1) feed Apollo's hosted usage reporting, which this graph does not use.
      plugins: [ApolloServerPluginInlineTraceDisabled(), cacheTagsPlugin<C>((context) => (cache.enabled ? context.cache.tags : null))],
    },
    context: async ({ req, requestId }) => {
      const identity = await identityFrom(req, identities);
      return options.context({
        requestId,
        identity,
        forwardedIdentity: typeof req.headers[IDENTITY_HEADER] === 'string' ? req.headers[IDENTITY_HEADER] : null,
        deadline: currentDeadline() ?? null,
        viewer: viewerOf(identity),
        log: logger.child({ requestId }),
        cache: new RequestCache(cache),
        limitField: (info, limit) => fieldLimits({ identity, info }, limit),
      });
    },
    ready: async () => {
      const reachable = await database.ping();
      // Replicas are reported, never a reason to be unready: their reads go to the primary meanwhile.
      return { ready: reachable, checks: { database: reachable ? 'ok' : 'unreachable', cache: await openedCache.status(), ...(reads ? { replicas: reads.status() } : {}) } };
    },
    onStop: async () => {
      await options.onStop?.();
      // A bus someone gave us is theirs to close.
      if (!options.runtime.sharedBus) await options.runtime.bus.close();
      await openedCache.close();
      await reads?.stop();
      if (redis) await closeRedisClient(redis);
      await database.close();
    },
  });
}
