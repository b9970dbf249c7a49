// What every subgraph does the same way: open and prepare its database, count SQL statements,
// build the federated schema from schema/<name>.graphql, and wrap it in the shared HTTP shell.
import type { KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import type { BaseContext } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/index.js';
import { migrate } from '@commerce/db/migrate';
import { seed } from '@commerce/db/seed';
import { parse } from 'graphql';
import { unauthenticatedRequest, viewerOf, type Viewer } from './auth.js';
import { loadOrCreateDevKeys } from './dev-keys.js';
import { ANONYMOUS, IDENTITY_HEADER, type Identity, IdentityError, identityPublicKey, verifyIdentity } from './identity.js';
import type { SubgraphConfig } from './config.js';
import { type Database, openDatabase } from './database.js';
import { createLogger, type Logger } from './logger.js';
import { createMetrics, type ServiceMetrics, sqlStatementsCounter } from './metrics.js';
import { createService, type Service } from './service.js';

/** The part of every subgraph's per-request context that the shell provides. */
export interface RequestContext extends BaseContext {
  requestId: string;
  /** Who is asking, as the gateway vouched (anonymous when nothing was forwarded). */
  identity: Identity;
  /** The signed-in user, if the caller is one. */
  viewer: Viewer | null;
  log: Logger;
}

export interface SubgraphRuntime {
  config: SubgraphConfig;
  logger: Logger;
  metrics: ServiceMetrics;
  database: Database;
  /** Verifies identities forwarded by the gateway. */
  identityKey: KeyObject;
}

export const schemaPath = (name: string): string => join(import.meta.dirname, '..', '..', '..', 'schema', `${name}.graphql`);

/** Opens the subgraph's database, migrates and seeds it as configured. */
export async function prepareSubgraph(config: SubgraphConfig): Promise<SubgraphRuntime> {
  const logger = createLogger(config.name, config.logLevel);
  const identityKey = identityPublicKey(config.identityPublicKey ?? loadOrCreateDevKeys(config.dataDir).identityPublicKey);
  const metrics = createMetrics(config.name);
  const statements = sqlStatementsCounter(metrics.registry);
  const database = openDatabase(config.database, { onStatement: () => statements.inc() });
  try {
    if (config.migrateOnStart || config.seedOnStart) {
      const runner = await database.runner();
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
  return { config, logger, metrics, database, identityKey };
}

/**
 * The caller's identity from the gateway's signed header: anonymous when absent; a forged,
 * expired or malformed one rejects the whole request with HTTP 401.
 */
export async function identityFrom(req: IncomingMessage, key: KeyObject): Promise<Identity> {
  const header = req.headers[IDENTITY_HEADER];
  if (header === undefined) return ANONYMOUS;
  try {
    if (typeof header !== 'string') throw new IdentityError('one identity header expected');
    return await verifyIdentity(key, header);
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
  const { config, logger, metrics, database, identityKey } = options.runtime;
  const typeDefs = parse(readFileSync(schemaPath(config.name), 'utf8'));
  return createService<C>({
    name: config.name,
    nodeEnv: config.nodeEnv,
    logger,
    metrics,
    apollo: {
      schema: buildSubgraphSchema({ typeDefs, resolvers: options.resolvers as GraphQLResolverMap<unknown> }),
      // Inline traces (ftv1) feed Apollo's hosted usage reporting, which this graph does not use.
      plugins: [ApolloServerPluginInlineTraceDisabled()],
    },
    context: async ({ req, requestId }) => {
      const identity = await identityFrom(req, identityKey);
      return options.context({ requestId, identity, viewer: viewerOf(identity), log: logger.child({ requestId }) });
    },
    ready: async () => {
      const reachable = await database.ping();
      return { ready: reachable, checks: { database: reachable ? 'ok' : 'unreachable' } };
    },
    onStop: async () => {
      await options.onStop?.();
      await database.close();
    },
  });
}
