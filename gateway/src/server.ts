// Builds the gateway (no listening): @apollo/gateway inside @apollo/server, running from a
// supergraph file, so it starts whether or not the subgraphs are up.
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { createLogger } from '@commerce/shared/logger';
import { createMetrics } from '@commerce/shared/metrics';
import { createService, type Service } from '@commerce/shared/service';
import type { GatewayConfig } from './config.js';
import { loadSupergraph, type Supergraph } from './supergraph.js';

export interface GatewayContext {
  requestId: string;
}

export async function createGatewayServer(
  config: GatewayConfig,
  supergraph: Supergraph = loadSupergraph(config.supergraphPath, config.subgraphUrls),
): Promise<Service> {
  const logger = createLogger('gateway', config.logLevel);
  const metrics = createMetrics('gateway');
  const gateway = new ApolloGateway({
    supergraphSdl: supergraph.sdl,
    logger,
    buildService: ({ name, url }) =>
      new RemoteGraphQLDataSource<GatewayContext>({
        url: supergraph.urls.get(name) ?? url,
        willSendRequest({ request, context }) {
          if (context.requestId) request.http?.headers.set('x-request-id', context.requestId);
        },
      }),
  });
  logger.info({ subgraphs: Object.fromEntries(supergraph.urls) }, 'supergraph loaded');
  return createService<GatewayContext>({
    name: 'gateway',
    nodeEnv: config.nodeEnv,
    logger,
    metrics,
    apollo: { gateway },
    context: async ({ requestId }) => ({ requestId }),
    ready: async () => ({ ready: true, checks: { supergraph: 'loaded', subgraphs: Object.fromEntries(supergraph.urls) } }),
  });
}
