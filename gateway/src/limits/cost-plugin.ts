// Weighs every operation before execution (operation-cost.ts, by the @cost / @listSize directives
// of the supergraph; each document and page-size combination is walked once, then remembered), refuses one above the static
// maximum (HTTP 400, QUERY_LIMIT_EXCEEDED, limit "cost"), and leaves the cost on the context for
// the client budget to charge.
import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError } from 'graphql';
import type { Histogram } from 'prom-client';
import type { CostSchema } from './cost-schema.js';
import { OperationCosts } from './operation-cost.js';
import { QueryLimitError } from './query-limits.js';

export interface CostContext {
  /** Set once the operation is resolved; 0 before. */
  cost: number;
}

export interface CostPluginOptions {
  /** The supergraph's cost directives (costSchemaOfSdl). */
  costs: CostSchema;
  /** No single operation may cost more, whoever asks. */
  maxCost: number;
  /** Time spent weighing (the overhead of cost analysis, per request). */
  analysisSeconds?: Histogram;
}

export function costPlugin<C extends CostContext>(options: CostPluginOptions): ApolloServerPlugin<C> {
  const costs = new OperationCosts(options.costs);
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, operation, request, contextValue }) {
          // @apollo/gateway answers an operationName that names nothing with a 500; it is the client's mistake.
          if (!operation) throw new GraphQLError(`Unknown operation named "${request.operationName ?? ''}".`, { extensions: { code: 'BAD_REQUEST', http: { status: 400 } } });
          const started = performance.now();
          const cost = costs.costOf(document, operation, request.variables);
          options.analysisSeconds?.observe((performance.now() - started) / 1000);
          contextValue.cost = cost;
          if (cost > options.maxCost) throw new QueryLimitError('cost', options.maxCost, cost);
        },
      };
    },
  };
}
