// Builds the gateway (no listening): @apollo/gateway inside @apollo/server, running from a
// supergraph file, so it starts whether or not the subgraphs are up.
import { ApolloGateway } from '@apollo/gateway';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { type DevKeys, loadOrCreateDevKeys } from '@commerce/shared/dev-keys';
import { IDENTITY_HEADER, type Identity, identityPrivateKey, signIdentity } from '@commerce/shared/identity';
import { createLogger } from '@commerce/shared/logger';
import { createMetrics } from '@commerce/shared/metrics';
import { createService, type Service } from '@commerce/shared/service';
import { ApiKeyVerifier } from './api-keys.js';
import { Authenticator, userTokenKey } from './auth.js';
import type { GatewayConfig } from './config.js';
import { ResilientDataSource, type SubgraphFetchMetrics } from './resilient-source.js';
import { loadSupergraph, type Supergraph } from './supergraph.js';

export interface GatewayContext {
  requestId: string;
  identity: Identity;
  /** The identity, signed for the subgraphs (once per request, sent with every subgraph fetch). */
  identityToken: string;
}

export async function createGatewayServer(
  config: GatewayConfig,
  supergraph: Supergraph = loadSupergraph(config.supergraphPath, config.subgraphUrls),
): Promise<Service> {
  const logger = createLogger('gateway', config.logLevel);
  const metrics = createMetrics('gateway');
  let devKeys: DevKeys | undefined;
  const development = () => (devKeys ??= loadOrCreateDevKeys(config.auth.dataDir));
  const signingKey = identityPrivateKey(config.auth.identityPrivateKey ?? development().identityPrivateKey);
  const apiKeyUrl = supergraph.urls.get(config.auth.apiKeyGraph);
  const apiKeys = apiKeyUrl
    ? new ApiKeyVerifier(apiKeyUrl, () => signIdentity(signingKey, { kind: 'service', service: 'gateway' }), config.auth.apiKeyCacheSeconds * 1000)
    : null;
  const authenticator = new Authenticator(config.auth, userTokenKey(config.auth, () => development().jwtSecret), apiKeys);
  const fetchMetrics = subgraphFetchMetrics(metrics.registry);
  const sources: ResilientDataSource<GatewayContext>[] = [];
  const gateway = new ApolloGateway({
    supergraphSdl: supergraph.sdl,
    logger,
    buildService: ({ name, url }) => {
      const source = new ResilientDataSource<GatewayContext>(name, supergraph.urls.get(name) ?? url ?? '', config.resilience, fetchMetrics, ({ request, context }) => {
        if (context.requestId) request.http?.headers.set('x-request-id', context.requestId);
        if (context.identityToken) request.http?.headers.set(IDENTITY_HEADER, context.identityToken);
      });
      sources.push(source);
      return source;
    },
  });
  logger.info({ subgraphs: Object.fromEntries(supergraph.urls) }, 'supergraph loaded');
  return createService<GatewayContext>({
    name: 'gateway',
    nodeEnv: config.nodeEnv,
    logger,
    metrics,
    apollo: { gateway },
    context: async ({ req, requestId }) => {
      const identity = await authenticator.authenticate(req.headers);
      return { requestId, identity, identityToken: await signIdentity(signingKey, { ...identity, requestId }) };
    },
    ready: async () => ({ ready: true, checks: { supergraph: 'loaded', subgraphs: Object.fromEntries(supergraph.urls) } }),
    onStop: async () => {
      for (const source of sources) source.shutdown();
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
