// Prometheus metrics, one registry per service (the embedded graph runs four services in one
// process, so nothing goes into prom-client's global registry).
import type { ApolloServerPlugin } from '@apollo/server';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface ServiceMetrics {
  registry: Registry;
  requestDuration: Histogram<'operation' | 'outcome'>;
}

export function createMetrics(service: string, options: { processMetrics?: boolean } = {}): ServiceMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  const requestDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'GraphQL request latency by operation name and outcome (ok or error).',
    labelNames: ['operation', 'outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  return { registry, requestDuration };
}

/** sql_statements_total: every SQL statement a subgraph sends, counted at the driver adapter. */
export function sqlStatementsCounter(registry: Registry): Counter {
  return new Counter({ name: 'sql_statements_total', help: 'SQL statements sent to the database.', registers: [registry] });
}

/** Times every GraphQL request into http_request_duration_seconds{operation,outcome}. */
export function requestMetricsPlugin(metrics: ServiceMetrics): ApolloServerPlugin {
  return {
    async requestDidStart() {
      const end = metrics.requestDuration.startTimer();
      return {
        async willSendResponse({ response, errors, operationName }) {
          const body = response.body;
          const failed = (errors?.length ?? 0) > 0 || (body.kind === 'single' && (body.singleResult.errors?.length ?? 0) > 0);
          end({ operation: operationLabel(operationName), outcome: failed ? 'error' : 'ok' });
        },
      };
    },
  };
}

/** Operation names come from clients: keep only well-formed ones as label values. */
function operationLabel(name: string | undefined | null): string {
  if (!name) return 'anonymous';
  return /^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(name) ? name : 'invalid';
}
