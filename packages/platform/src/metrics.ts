// Prometheus metrics, one registry per service (the embedded graph runs four services in one
// process, so nothing goes into prom-client's global registry).
import type { ApolloServerPlugin } from '@apollo/server';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { droppedLogLines } from './logger.js';

export interface ServiceMetrics {
  registry: Registry;
  requestDuration: Histogram<'operation' | 'outcome'>;
  /** The `operation` label for an operation name (one bounded set per service, shared by every recorder). */
  operationLabel: (name: string | undefined | null) => string;
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
  // Process-wide (the services of one process share stdout), read at each scrape.
  new Counter({
    name: 'log_lines_dropped_total',
    help: 'Log lines this process dropped because stdout was full (a reader not keeping up) or closed, instead of blocking requests on it.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(droppedLogLines());
    },
  });
  return { registry, requestDuration, operationLabel: operationLabels() };
}

/** sql_statements_total: every SQL statement a subgraph sends, counted at the driver adapter. */
/** source: "request" (sent while serving a request) or "background" (relay, consumers, sweeps). */
/** target: "primary" or "replica" (a streaming read replica, ADR 0005). */
export function sqlStatementsCounter(registry: Registry): Counter<'source' | 'target'> {
  const counter = new Counter({
    name: 'sql_statements_total',
    help: 'SQL statements sent to the database, by source (request, or background work such as the outbox relay and event consumers) and target (primary, or a read replica).',
    labelNames: ['source', 'target'] as const,
    registers: [registry],
  });
  for (const source of ['request', 'background']) for (const target of ['primary', 'replica']) counter.inc({ source, target }, 0);
  return counter;
}

/** db_replica_lag_seconds{replica}: how far each read replica is behind its primary (replica = its index, never its URL). */
export function replicaLagGauge(registry: Registry): Gauge<'replica'> {
  return new Gauge({
    name: 'db_replica_lag_seconds',
    help: 'How far a read replica is behind its primary: 0 when it has replayed everything the primary had written, else the age of its last replayed transaction (growing while it is unreachable).',
    labelNames: ['replica'] as const,
    registers: [registry],
  });
}

/** db_replica_fallbacks_total{reason}: reads that could have used a replica and ran on the primary. */
export function replicaFallbacksCounter(registry: Registry): Counter<'reason'> {
  return new Counter({
    name: 'db_replica_fallbacks_total',
    help: 'Reads sent to the primary instead of a replica, by reason: down, lagging (over REPLICA_MAX_LAG_MS), unreplayed_write (the replica had not replayed a write the read concerns), positions_unknown (write positions unreadable), replica_error (the statement failed there).',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
}

/** Times every GraphQL request into http_request_duration_seconds{operation,outcome}. */
export function requestMetricsPlugin(metrics: ServiceMetrics): ApolloServerPlugin {
  const { operationLabel } = metrics;
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

/** How many distinct operation names get a series of their own; later ones share `other`. */
export const MAX_OPERATION_LABELS = 200;

/**
 * Operation names come from clients: only well-formed ones become label values, and only the first
 * MAX_OPERATION_LABELS of them, so a client inventing names cannot grow the registry without bound.
 */
export function operationLabels(limit = MAX_OPERATION_LABELS): (name: string | undefined | null) => string {
  const seen = new Set<string>();
  return (name) => {
    if (!name) return 'anonymous';
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(name)) return 'invalid';
    if (seen.has(name)) return name;
    if (seen.size >= limit) return 'other';
    seen.add(name);
    return name;
  };
}

export interface CacheCounters {
  requests: Counter<'layer' | 'result'>;
  purges: Counter<'result'>;
  setsRefused: Counter<'layer'>;
}

/** cache_requests_total{layer,result} (hit, miss, bypass), cache_purges_total{result} (ok, deferred), cache_sets_refused_total{layer}. */
export function cacheCounters(registry: Registry): CacheCounters {
  return {
    requests: new Counter({
      name: 'cache_requests_total',
      help: 'Cache lookups by layer (entity: subgraph rows; response: whole gateway responses) and result (hit, miss, bypass).',
      labelNames: ['layer', 'result'] as const,
      registers: [registry],
    }),
    purges: new Counter({
      name: 'cache_purges_total',
      help: 'Purges after writes: ok, or deferred (the store was unreachable; retried in the background).',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    setsRefused: new Counter({
      name: 'cache_sets_refused_total',
      help: 'Cache writes the store refused because a tag they carry was purged after their read began (what they read may be stale), by layer.',
      labelNames: ['layer'] as const,
      registers: [registry],
    }),
  };
}

/** rate_limited_total{scope}: requests refused by a client budget (gateway) or a field limit (subgraphs). */
export function rateLimitedCounter(registry: Registry): Counter<'scope'> {
  return new Counter({ name: 'rate_limited_total', help: 'Requests refused by a rate limit, by scope (client_budget at the gateway, field in subgraphs).', labelNames: ['scope'] as const, registers: [registry] });
}

/** rate_limit_fallbacks_total: decisions one replica made alone (budgets) or let through (field limits) because the shared store did not answer. */
export function rateLimitFallbacksCounter(registry: Registry): Counter {
  return new Counter({ name: 'rate_limit_fallbacks_total', help: 'Rate-limit decisions made by one replica alone because the shared store did not answer (client budgets at the gateway: a local bucket; field limits in subgraphs: the call is allowed).', registers: [registry] });
}
