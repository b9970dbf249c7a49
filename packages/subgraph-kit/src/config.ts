// The subgraph configuration: one typed object built from the environment at start.
import { isAbsolute, join } from 'node:path';
import { z } from 'zod';
import type { SubgraphName } from '@commerce/db/sql-runner';
import { type CacheConfig, cacheConfigOf, cacheEnv } from '@commerce/platform/cache-config';
import { DEFAULT_POOL_SIZE, type DatabaseTarget } from './database.js';
import { booleanFlag, ConfigError, logBufferBytes, logLevel, nodeEnv, parseEnv, port, postgresUrl, type ProcessConfig } from '@commerce/platform/env';
import { SHUTDOWN_FITS_ISSUE, type ShutdownConfig, shutdownConfigOf, shutdownEnv, shutdownFits } from '@commerce/platform/shutdown';
import { type TracingConfig, tracingConfig, tracingEnv } from '@commerce/platform/tracing';

export const DEFAULT_PORTS: Record<SubgraphName, number> = { users: 4001, products: 4002, orders: 4003 };

export interface SubgraphConfig extends ProcessConfig {
  name: SubgraphName;
  database: DatabaseTarget;
  /**
   * PostgreSQL connections per pool (DATABASE_POOL_SIZE): the primary's pool and each read
   * replica's; processes × this must fit each server's max_connections.
   */
  databasePoolSize: number;
  /** REPLICA_MAX_LAG_MS: a read replica further behind than this gets no reads until it catches up. */
  replicaMaxLagMs: number;
  /** Apply pending migrations at start (idempotent). */
  migrateOnStart: boolean;
  /** Write the deterministic seed at start when the tables are empty. */
  seedOnStart: boolean;
  /** Where embedded data and development keys live. */
  dataDir: string;
  /** PEM (or base64 PEM) of the gateway's identity public key; null means the development key under dataDir. */
  identityPublicKey: string | null;
  cache: CacheConfig;
  /** RATE_LIMIT_ENABLED=false turns field limits off (load tests). */
  rateLimitEnabled: boolean;
  /** OpenTelemetry export; null (the default) loads no tracing code at all. */
  tracing: TracingConfig | null;
  saga: SagaConfig;
}

/** The order saga (orders and products). */
export interface SagaConfig {
  /** Where orders looks up the products an order names (name, price, whether it exists). */
  productsUrl: string;
  /** How long placeOrder waits for the reservation's outcome before answering PENDING. */
  placeOrderWaitMs: number;
  /** placeOrder calls writing at once per process; more queue, and one that cannot be written in time is TRY_AGAIN at once. */
  placeOrderConcurrency: number;
  /** An event handed to a consumer that neither acknowledged nor failed it for this long goes to another. */
  claimIdleMs: number;
  /** Event consumers per process (each handles one event at a time). */
  consumers: number;
  /** How often the outbox relay looks for unpublished events (it is also woken after each write). */
  relayIntervalMs: number;
}

/** One or more PostgreSQL URLs, comma-separated (read replicas). */
const postgresUrlList = z
  .string()
  .transform((text) => text.split(',').map((url) => url.trim()).filter((url) => url !== ''))
  .pipe(z.array(postgresUrl).min(1, 'at least one postgres:// URL'))
  .optional();

/**
 * Every variable a subgraph reads, for deployment files to be checked against (test/deploy.test.ts):
 * subgraphConfig parses with it, so a variable it does not name has no effect.
 */
export const subgraphEnvSchema = z.object({
  NODE_ENV: nodeEnv,
  HOST: z.string().min(1).default('0.0.0.0'),
  PORT: port.optional(),
  LOG_LEVEL: logLevel,
  LOG_BUFFER_BYTES: logBufferBytes,
  ...shutdownEnv,
  DATA_DIR: z.string().min(1).default('.data'),
  DATABASE_URL: postgresUrl.optional(),
  USERS_DATABASE_URL: postgresUrl.optional(),
  PRODUCTS_DATABASE_URL: postgresUrl.optional(),
  ORDERS_DATABASE_URL: postgresUrl.optional(),
  DATABASE_REPLICA_URL: postgresUrlList,
  USERS_DATABASE_REPLICA_URL: postgresUrlList,
  PRODUCTS_DATABASE_REPLICA_URL: postgresUrlList,
  ORDERS_DATABASE_REPLICA_URL: postgresUrlList,
  REPLICA_MAX_LAG_MS: z.coerce.number().int().min(0).max(60_000).default(5000),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(100).default(DEFAULT_POOL_SIZE),
  MIGRATE_ON_START: booleanFlag(true),
  SEED_ON_START: z.enum(['true', 'false', '1', '0']).optional(),
  IDENTITY_PUBLIC_KEY: z.string().min(1).optional(),
  ...cacheEnv,
  RATE_LIMIT_ENABLED: booleanFlag(true),
  PRODUCTS_URL: z.url({ protocol: /^https?$/ }).optional(),
  PLACE_ORDER_WAIT_MS: z.coerce.number().int().min(0).max(30_000).default(2000),
  PLACE_ORDER_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(16),
  EVENT_CLAIM_IDLE_MS: z.coerce.number().int().min(50).max(600_000).default(10_000),
  EVENT_CONSUMERS: z.coerce.number().int().min(1).max(64).default(4),
  OUTBOX_RELAY_INTERVAL_MS: z.coerce.number().int().min(10).max(60_000).default(500),
  ...tracingEnv,
})
  .refine((env) => env.NODE_ENV !== 'production' || env.IDENTITY_PUBLIC_KEY !== undefined, {
    path: ['IDENTITY_PUBLIC_KEY'],
    message: 'required when NODE_ENV=production (the public key of the gateway\'s identity signing key)',
  })
  .refine(shutdownFits, SHUTDOWN_FITS_ISSUE);

/**
 * Where a subgraph's data lives: its own URL, else the shared DATABASE_URL in a schema named after
 * the subgraph, else embedded PGlite under DATA_DIR/<name>.
 */
const dataDirOf = (env: z.infer<typeof subgraphEnvSchema>, cwd: string): string => (isAbsolute(env.DATA_DIR) ? env.DATA_DIR : join(cwd, env.DATA_DIR));

export function databaseTarget(name: SubgraphName, env: z.infer<typeof subgraphEnvSchema>, cwd: string): DatabaseTarget {
  const own = env[`${name.toUpperCase()}_DATABASE_URL` as 'USERS_DATABASE_URL'];
  const shared = env.DATABASE_URL;
  const ownReplicas = env[`${name.toUpperCase()}_DATABASE_REPLICA_URL` as 'USERS_DATABASE_REPLICA_URL'];
  const replicaUrls = ownReplicas ?? env.DATABASE_REPLICA_URL;
  if (own ?? shared) {
    const url = new URL((own ?? shared) as string);
    const schemaName = url.searchParams.get('schema') ?? (own ? 'public' : name);
    url.searchParams.delete('schema');
    // A streaming replica is a copy of the whole primary: its schema is the primary's.
    const replicas = (replicaUrls ?? []).map((replicaUrl) => {
      const replica = new URL(replicaUrl);
      replica.searchParams.delete('schema');
      return replica.toString();
    });
    return { kind: 'postgres', url: url.toString(), schema: schemaName, ...(replicas.length > 0 ? { replicas } : {}) };
  }
  return { kind: 'pglite', dataDir: join(dataDirOf(env, cwd), name) };
}

export function subgraphConfig(name: SubgraphName, env: Record<string, string | undefined> = process.env, cwd = process.cwd()): SubgraphConfig {
  const parsed = parseEnv(subgraphEnvSchema, env);
  const database = databaseTarget(name, parsed, cwd);
  const replicaVariable = `${name.toUpperCase()}_DATABASE_REPLICA_URL` as 'USERS_DATABASE_REPLICA_URL';
  if (database.kind === 'pglite' && (parsed[replicaVariable] ?? parsed.DATABASE_REPLICA_URL)) {
    // The embedded database has no replicas: they need a PostgreSQL primary.
    const variable = parsed[replicaVariable] ? replicaVariable : 'DATABASE_REPLICA_URL';
    throw new ConfigError([`${variable}: needs ${name.toUpperCase()}_DATABASE_URL or DATABASE_URL (read replicas of a PostgreSQL primary)`]);
  }
  return {
    name,
    nodeEnv: parsed.NODE_ENV,
    host: parsed.HOST,
    port: parsed.PORT ?? DEFAULT_PORTS[name],
    logLevel: parsed.LOG_LEVEL,
    logBufferBytes: parsed.LOG_BUFFER_BYTES,
    shutdown: shutdownConfigOf(parsed),
    database,
    databasePoolSize: parsed.DATABASE_POOL_SIZE,
    replicaMaxLagMs: parsed.REPLICA_MAX_LAG_MS,
    migrateOnStart: parsed.MIGRATE_ON_START,
    seedOnStart: parsed.SEED_ON_START === undefined ? database.kind === 'pglite' : ['true', '1'].includes(parsed.SEED_ON_START),
    dataDir: dataDirOf(parsed, cwd),
    identityPublicKey: parsed.IDENTITY_PUBLIC_KEY ?? null,
    cache: cacheConfigOf(parsed),
    rateLimitEnabled: parsed.RATE_LIMIT_ENABLED,
    tracing: tracingConfig(parsed),
    saga: {
      productsUrl: parsed.PRODUCTS_URL ?? `http://127.0.0.1:${DEFAULT_PORTS.products}/graphql`,
      placeOrderWaitMs: parsed.PLACE_ORDER_WAIT_MS,
      placeOrderConcurrency: parsed.PLACE_ORDER_CONCURRENCY,
      claimIdleMs: parsed.EVENT_CLAIM_IDLE_MS,
      relayIntervalMs: parsed.OUTBOX_RELAY_INTERVAL_MS,
      consumers: parsed.EVENT_CONSUMERS,
    },
  };
}
