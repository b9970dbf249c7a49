// One JSON log line per GraphQL request, carrying the request id the gateway created (or took from
// x-request-id), so a request can be followed through the gateway and every subgraph. Unexpected
// errors — the ones clients see only as INTERNAL_SERVER_ERROR — are logged here with their stack.
import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import type { Logger } from './logger.js';

export function requestLogPlugin(logger: Logger): ApolloServerPlugin<BaseContext & { requestId?: string }> {
  return {
    async requestDidStart({ contextValue }) {
      const started = performance.now();
      const log = logger.child({ requestId: contextValue.requestId });
      return {
        async didEncounterErrors({ errors }) {
          for (const error of errors) {
            const code = error.extensions?.code;
            if (code === undefined || code === 'INTERNAL_SERVER_ERROR') log.error({ err: error.originalError ?? error, path: error.path }, 'unexpected error');
          }
        },
        async willSendResponse({ response, errors, operationName }) {
          const body = response.body;
          const count = (errors?.length ?? 0) || (body.kind === 'single' ? (body.singleResult.errors?.length ?? 0) : 0);
          log.info({ operation: operationName ?? null, ms: Math.round(performance.now() - started), errors: count }, 'graphql request');
        },
      };
    },
  };
}
