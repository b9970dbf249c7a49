// Builds the gateway (no listening): @apollo/gateway inside @apollo/server, running from a
// supergraph file, so it starts whether or not the subgraphs are up.
import cluster from 'node:cluster';
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServerPluginCacheControl } from '@apollo/server/plugin/cacheControl';
import type { CacheStore } from '@commerce/platform/cache-store';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { type DevKeys, loadOrCreateDevKeys } from '@commerce/platform/dev-keys';
import { CACHE_TAGS_EXTENSION } from '@commerce/platform/cache-tags';
import { IDENTITY_HEADER, type Identity, identityClaimsKey, identityPrivateKey } from '@commerce/platform/identity';
import { createLogger } from '@commerce/platform/logger';
import { cacheCounters, createMetrics, rateLimitedCounter, rateLimitFallbacksCounter } from '@commerce/platform/metrics';
import { openCache } from '@commerce/platform/open-cache';
import { cacheStoreScripts } from '@commerce/platform/redis-cache-store';
import { closeRedisClient, combineScripts, createRedisClient } from '@commerce/platform/redis-client';
import { createService, type Service } from '@commerce/platform/service';
import { tracing } from '@commerce/platform/tracing';
import { ApiKeyVerifier } from './auth/api-keys.js';
import { budgetStoreScripts, FailOpenBudgetStore, MemoryBudgetStore, RedisBudgetStore } from './limits/budget-store.js';
import { type BudgetContext, clientBudgetPlugin, refusalCharge } from './limits/client-budget.js';
import { clientIp } from './http/client-ip.js';
import { costPlugin } from './limits/cost-plugin.js';
import { costSchemaOfSdl } from './limits/cost-schema.js';
import { compressionMiddleware, corsMiddleware, persistedDocumentsMiddleware, queryLimitsMiddleware } from './http/edge.js';
import { explorer } from './http/explorer.js';
import { introspectionPlugin } from './auth/introspection-policy.js';
import { Authenticator, userTokenKey } from './auth/auth.js';
import { IdentityTokens } from './auth/identity-tokens.js';
import type { GatewayConfig } from './config.js';
import { HitLane, type LaneTicket, type Prepaid } from './http/hit-lane.js';
import { ResilientDataSource, type SubgraphFetchMetrics } from './federation/resilient-source.js';
import { type SubgraphAnswer, SubgraphHttp } from './federation/subgraph-http.js';
import { deduplicatingGateway, Deduplication, InFlight } from './federation/dedup.js';
import { limitedPersistedQueries, persistedQueryCache } from './cache/persisted-queries.js';
import { APQ_TTL_SECONDS, openApqStore } from './cache/apq-store.js';
import { loadPersistedDocuments, type PersistedDocuments } from './cache/persisted-documents.js';
import { DocumentLimits } from './limits/query-limits.js';
import { responseCachePlugin } from './cache/response-cache.js';
import { loadSupergraph, type Supergraph } from './federation/supergraph.js';
import { clusterScrape } from './workers.js';

export interface GatewayContext {
  requestId: string;
  identity: Identity;
  /** The identity, signed for the subgraphs (auth/identity-tokens.ts): taken at the first subgraph fetch (a cache hit takes none), then reused. */
  identityToken: () => Promise<string>;
  /** What the subgraphs said this response was built from (for the response cache). */
  cacheTags: Set<string>;
  /** The client's address (TRUST_PROXY_HOPS applied). */
  clientIp: string;
  /** The operation's cost (cost-plugin.ts), charged to the client's budget. */
  cost: number;
  /** Set when the hit lane read this request first (hit-lane.ts). */
  laneTicket?: LaneTicket;
  /** The budget the hit lane already took for it. */
  prepaid?: Prepaid;
  /** Its result came from another request's execution (federation/dedup.ts). */
  sharedExecution?: boolean;
  /** The response cache's store clock at this request's lookup (a miss). */
  cacheReadStartedAt?: number;
}

export interface GatewayDependencies {
  /** Default: the file at config.supergraphPath, with config.subgraphUrls applied. */
  supergraph?: Supergraph;
  /** The embedded graph shares one in-memory store with its subgraphs. */
  cacheStore?: CacheStore;
  /** Default: the manifest config.persistedDocuments names, loaded and checked against the static limits. */
  persistedDocuments?: PersistedDocuments;
}

export async function createGatewayServer(config: GatewayConfig, dependencies: GatewayDependencies = {}): Promise<Service> {
  const supergraph = dependencies.supergraph ?? loadSupergraph(config.supergraphPath, config.subgraphUrls);
  // A worker of several (GATEWAY_WORKERS, workers.ts) says which on every log line, and answers a
  // scrape with the sum over all of them.
  const logger = createLogger('gateway', config.logLevel, { bufferBytes: config.logBufferBytes, ...(cluster.isWorker ? { base: { worker: process.pid } } : {}) });
  const metrics = createMetrics('gateway');
  const scrapeMetrics = cluster.isWorker ? clusterScrape(metrics.registry) : undefined;
  // One client for the response cache and the budgets, declaring both stores' scripts.
  const redis = config.cache.redisUrl
    ? createRedisClient(config.cache.redisUrl, {
        scripts: combineScripts(cacheStoreScripts, budgetStoreScripts),
        onError: (error) => logger.warn({ err: error.message }, 'redis connection error; cache and budgets fall back until it reconnects'),
      })
    : null;
  const openedCache = openCache(config.cache, logger, redis, dependencies.cacheStore);
  let devKeys: DevKeys | undefined;
  const development = () => (devKeys ??= loadOrCreateDevKeys(config.auth.dataDir));
  const identityTokens = new IdentityTokens(identityPrivateKey(config.auth.identityPrivateKey ?? development().identityPrivateKey), Math.max(config.resilience.timeoutMs, config.resilience.mutationTimeoutMs + config.resilience.mutationGraceMs));
  const apiKeyUrl = supergraph.urls.get(config.auth.apiKeyGraph);
  const apiKeys = apiKeyUrl
    ? new ApiKeyVerifier(apiKeyUrl, () => identityTokens.tokenFor({ kind: 'service', service: 'gateway' }), config.auth.apiKeyCacheSeconds * 1000)
    : null;
  const authenticator = new Authenticator(config.auth, userTokenKey(config.auth, () => development().jwtSecret), apiKeys);
  const fetchMetrics = subgraphFetchMetrics(metrics.registry);
  const limitRejections = new Counter({ name: 'query_limit_rejections_total', help: 'Operations refused by a static limit before execution, by limit.', labelNames: ['limit'] as const, registers: [metrics.registry] });
  // Budgets: shared by every replica through Redis (a local bucket decides while it is unreachable);
  // in memory without it (the embedded graph has one gateway).
  const budgetStore = !config.budgets
    ? null
    : redis
      ? new FailOpenBudgetStore(new RedisBudgetStore(redis, config.cache.prefix), Math.max(100, config.cache.timeoutMs), (error) => logger.warn({ err: String(error) }, 'budget store unavailable; this replica decides alone until it answers'))
      : new MemoryBudgetStore();
  const budgetFallbacks = rateLimitFallbacksCounter(metrics.registry);
  const rateLimited = rateLimitedCounter(metrics.registry);
  const chargeRefusal = budgetStore && config.budgets ? refusalCharge<BudgetContext>({ store: budgetStore, limits: config.budgets, rateLimited, fallbacks: budgetFallbacks }) : null;
  const { requests: cacheRequests, setsRefused: cacheSetsRefused } = cacheCounters(metrics.registry);
  const documentLimits = new DocumentLimits(config.queryLimits);
  const persistedDocuments = dependencies.persistedDocuments ?? loadPersistedDocuments(config.persistedDocuments, documentLimits);
  if (persistedDocuments.mode !== 'off' && persistedDocuments.source === null) logger.warn({ mode: persistedDocuments.mode }, 'no persisted documents manifest (clients/persisted-query-manifest.json not found): no operation is listed');
  else if (persistedDocuments.mode !== 'off') logger.info({ mode: persistedDocuments.mode, listed: persistedDocuments.size, manifest: persistedDocuments.source }, 'persisted documents loaded');
  // APQ on Redis when there is one (every replica finds what any replica registered), else in memory.
  const apq = openApqStore({ redisUrl: config.cache.redisUrl, prefix: config.cache.prefix, timeoutMs: config.cache.timeoutMs, requests: cacheRequests, logger });
  // Anonymous repeat hits, answered before Express and Apollo (only with a cache to answer from).
  // Not while tracing: whoever turns traces on wants every request in them, hits included.
  const { cache } = openedCache;
  const lane = cache && !tracing()
    ? new HitLane({
        cache,
        budget: budgetStore && config.budgets ? { store: budgetStore, limits: config.budgets, fallbacks: budgetFallbacks } : null,
        bodyLimitBytes: config.http.bodyLimitBytes,
        // A listed id names one fixed document (the manifest is read once), so its body is as learnable as a text.
        learnable: (body) => persistedDocuments.lists(body.extensions?.persistedQuery?.sha256Hash),
        trustProxyHops: config.trustProxyHops,
        httpMaxAgeSeconds: config.httpCacheMaxAgeSeconds,
        requests: cacheRequests,
        metrics,
        logger,
      })
    : null;
  /** Who is asking: throws for bad credentials (HTTP 401). */
  const callerOf = async (req: IncomingMessage): Promise<{ identity: Identity; clientIp: string }> => {
    const ip = clientIp(req, config.trustProxyHops);
    const authenticated = await authenticator.authenticate(req.headers);
    // Anonymous callers are known by address, to the budget here and to field limits in the subgraphs.
    return { identity: authenticated.kind === 'anonymous' ? { ...authenticated, clientIp: ip } : authenticated, clientIp: ip };
  };
  const sources: ResilientDataSource<GatewayContext>[] = [];
  const subgraphHttp = new SubgraphHttp({ connections: config.subgraphConnections });
  const deduplicated = new Counter({ name: 'deduplicated_requests_total', help: 'Requests that shared work already in flight: inbound, a query answered from an identical execution; outbound, a subgraph fetch answered by an identical request.', labelNames: ['direction'] as const, registers: [metrics.registry] });
  for (const direction of ['inbound', 'outbound'] as const) deduplicated.inc({ direction }, 0);
  // Not while tracing (as the hit lane): whoever turns traces on wants every request's own spans.
  const dedup = config.dedup && !tracing() ? new Deduplication(deduplicated) : null;
  // @apollo/gateway reads this variable itself when it is built: without it, every gateway would
  // send Apollo its usage metrics (an OTLP exporter to usage-reporting.api.apollographql.com), a
  // call to the internet nobody asked for, failing where there is none.
  if (config.apolloTelemetryDisabled) process.env.APOLLO_TELEMETRY_DISABLED = 'true';
  const engine = new ApolloGateway({
    supergraphSdl: supergraph.sdl,
    logger,
    // Re-fragmenting subgraph fetches with the client's own fragments is super-linear in their
    // number (130 ms to plan a 600-fragment chain, 5 ms without): subgraphs get the expanded form.
    queryPlannerConfig: { reuseQueryFragments: false },
    buildService: ({ name, url }) => {
      const source = new ResilientDataSource<GatewayContext>(
        name,
        supergraph.urls.get(name) ?? url ?? '',
        config.resilience,
        fetchMetrics,
        {
          caller: (context) => (context.identity ? identityClaimsKey(context.identity) : null),
          headers: async (context) => ({
            ...(context.requestId ? { 'x-request-id': context.requestId } : {}),
            ...(context.identityToken ? { [IDENTITY_HEADER]: await context.identityToken() } : {}),
          }),
          afterReceive: (response, context) => {
            const tags = response.extensions?.[CACHE_TAGS_EXTENSION];
            if (Array.isArray(tags) && context.cacheTags) for (const tag of tags) if (typeof tag === 'string') context.cacheTags.add(tag);
          },
        },
        subgraphHttp,
        dedup ? new InFlight<SubgraphAnswer>(dedup, 'outbound') : null,
      );
      sources.push(source);
      return source;
    },
  });
  const gateway = dedup ? deduplicatingGateway(engine, dedup) : engine;
  logger.info({ subgraphs: Object.fromEntries(supergraph.urls) }, 'supergraph loaded');
  const offline = explorer<GatewayContext>(config.explorerEnabled, config.nodeEnv);
  return createService<GatewayContext>({
    name: 'gateway',
    nodeEnv: config.nodeEnv,
    logger,
    metrics,
    edge: config.http,
    shutdownTimeoutMs: config.shutdown.timeoutMs,
    ...(lane ? { front: (req, res, pass) => lane.handle(req, res, pass) } : {}),
    ...(scrapeMetrics ? { scrapeMetrics } : {}),
    routes: offline.routes,
    early: [corsMiddleware(config.http.corsOrigins ?? []), compressionMiddleware()],
    beforeGraphQL: [
      persistedDocumentsMiddleware({
        documents: persistedDocuments,
        ...(chargeRefusal ? { chargeRefusal: async (req) => (await chargeRefusal(await callerOf(req)))?.error ?? null } : {}),
      }),
      queryLimitsMiddleware({
        limits: documentLimits,
        rejected: limitRejections,
        ...(chargeRefusal ? { chargeRefusal: async (req) => (await chargeRefusal(await callerOf(req)))?.error ?? null } : {}),
      }),
    ],
    apollo: {
      gateway,
      // Apollo parses again after the edge's check: the token cap holds there too.
      parseOptions: { maxTokens: config.queryLimits.tokens },
      persistedQueries: { cache: persistedQueryCache(persistedDocuments, limitedPersistedQueries(documentLimits, limitRejections, apq.cache)), ttl: APQ_TTL_SECONDS },
      plugins: [
        ...offline.plugins,
        introspectionPlugin<GatewayContext>(config.introspection),
        costPlugin<GatewayContext>({
          costs: costSchemaOfSdl(supergraph.sdl),
          maxCost: config.queryLimits.cost,
          analysisSeconds: new Histogram({
            name: 'operation_cost_analysis_seconds',
            help: 'Time spent computing an operation\'s cost before execution.',
            buckets: [0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01],
            registers: [metrics.registry],
          }),
        }),
        // First, so an operation over budget costs nothing more (a cache hit is counted too).
        ...(budgetStore && config.budgets
          ? [
              clientBudgetPlugin<GatewayContext>({
                store: budgetStore,
                limits: config.budgets,
                costOf: ({ contextValue }) => contextValue.cost,
                rateLimited,
                fallbacks: budgetFallbacks,
              }),
            ]
          : []),
        // The policy is still computed (from the subgraphs' Cache-Control headers); the response
        // cache writes the HTTP header itself.
        ApolloServerPluginCacheControl({ calculateHttpHeaders: false }),
        responseCachePlugin<GatewayContext>({
          cache: openedCache.cache,
          version: createHash('sha256').update(supergraph.sdl).digest('hex').slice(0, 12),
          maxTtlSeconds: config.cache.responseMaxTtlSeconds,
          httpMaxAgeSeconds: config.httpCacheMaxAgeSeconds,
          requests: cacheRequests,
          setsRefused: cacheSetsRefused,
          learn: ({ contextValue, operationName }, key) => {
            if (lane && contextValue.laneTicket && contextValue.identity.kind === 'anonymous') lane.learn(contextValue.laneTicket.fingerprint, { key, cost: contextValue.cost, operationName: operationName ?? null });
          },
        }),
      ],
    },
    context: async ({ req, requestId }) => {
      const { identity, clientIp: ip } = await callerOf(req);
      // One token for all of the request's fetches (the caller's, shared with their other requests).
      let signed: Promise<string> | undefined;
      const identityToken = () => (signed ??= identityTokens.tokenFor(identity));
      const laneTicket = lane?.ticketOf(req);
      return { requestId, identity, clientIp: ip, identityToken, cacheTags: new Set<string>(), cost: 0, laneTicket, prepaid: laneTicket?.prepaid };
    },
    ready: async () => ({ ready: true, checks: { supergraph: 'loaded', subgraphs: Object.fromEntries(supergraph.urls), cache: await openedCache.status(), persistedQueries: apq.status(), persistedDocuments: `${persistedDocuments.mode} (${persistedDocuments.size} listed)` } }),
    onStop: async () => {
      for (const source of sources) source.shutdown();
      await subgraphHttp.close();
      await budgetStore?.close();
      await openedCache.close();
      await apq.close();
      if (redis) await closeRedisClient(redis);
    },
  });
}

function subgraphFetchMetrics(registry: Registry): SubgraphFetchMetrics {
  return {
    duration: new Histogram({
      name: 'subgraph_fetch_duration_seconds',
      help: 'Time the gateway spends on one subgraph fetch, retries included.',
      labelNames: ['subgraph'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    failures: new Counter({
      name: 'subgraph_fetch_failures_total',
      help: 'Subgraph fetches answered with SUBGRAPH_UNAVAILABLE, by reason (timeout, unreachable, http_5xx, circuit_open).',
      labelNames: ['subgraph', 'reason'] as const,
      registers: [registry],
    }),
    breakerState: new Gauge({
      name: 'circuit_breaker_state',
      help: 'Circuit breaker per subgraph: 0 closed, 1 half-open (probing), 2 open (failing fast).',
      labelNames: ['subgraph'] as const,
      registers: [registry],
    }),
  };
}
