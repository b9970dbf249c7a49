// OpenTelemetry tracing, opt-in: with OTEL_EXPORTER_OTLP_ENDPOINT set, startTracing() loads the
// SDK (tracing-sdk.ts) and every service built afterwards records spans; unset, nothing of the SDK
// or of any instrumentation is imported, and the hooks below are null. This file has no static
// OpenTelemetry import on purpose: it is what the rest of the code depends on.
//
// Why explicit spans, not auto-instrumentation: the services are ES modules run by tsx, and
// http/express instrumentation patches modules through require/import hooks that see only modules
// loaded after them (an `--import` loader for ESM). Static imports are hoisted, so that would need
// a loader flag on every start command. An Express middleware (server span, W3C context extracted
// from the request), a wrapped fetch (client span, context injected) and Prisma's own
// instrumentation (a global hook it reads per query) need no loader and no import order.
import type { ApolloServerPlugin } from '@apollo/server';
import type { RequestHandler } from 'express';
import { z } from 'zod';

export interface TracingConfig {
  /** OTLP/HTTP base URL; spans go to `<endpoint>/v1/traces` (JSON). */
  endpoint: string;
  /** How often the batch processor exports, in milliseconds. */
  scheduleDelayMs: number;
}

/** The environment variables of tracing, for the services' config schemas (OpenTelemetry's standard names). */
export const tracingEnv = {
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
  OTEL_BSP_SCHEDULE_DELAY: z.coerce.number().int().min(1).max(600_000).default(5000),
};

export function tracingConfig(env: { OTEL_EXPORTER_OTLP_ENDPOINT?: string | undefined; OTEL_BSP_SCHEDULE_DELAY: number }): TracingConfig | null {
  return env.OTEL_EXPORTER_OTLP_ENDPOINT ? { endpoint: env.OTEL_EXPORTER_OTLP_ENDPOINT, scheduleDelayMs: env.OTEL_BSP_SCHEDULE_DELAY } : null;
}

export type Fetcher = (input: string, init: RequestInit) => Promise<Response>;

/** What services use while tracing is on. */
export interface Tracing {
  /** Express middleware: a SERVER span per request, child of the caller's W3C `traceparent`, active while the request is handled. */
  serverSpan(service: string): RequestHandler;
  /** Adds the GraphQL operation (name, type) and error codes to the active server span. */
  apolloPlugin(): ApolloServerPlugin;
  /** Wraps fetch: a CLIENT span per call to a subgraph, its context injected as `traceparent`. */
  clientFetch(subgraph: string, fetcher: Fetcher): Fetcher;
  /**
   * A CLIENT span around one POST to a subgraph made without fetch (the gateway's own client):
   * `send` gets `headers` with the span's `traceparent` added, and answers with the status.
   */
  clientCall<T extends { status: number }>(subgraph: string, url: string, headers: Record<string, string>, send: (headers: Record<string, string>) => Promise<T>): Promise<T>;
  /** A span around one SQL statement sent without Prisma (its own db_query spans cover the rest). */
  sqlSpan<T>(sql: string, send: () => Promise<T>): Promise<T>;
  /** Exports what is buffered (before exit). */
  flush(): Promise<void>;
}

let active: Tracing | null = null;

/**
 * Starts tracing for this process (once; later calls keep the first). Call it before building
 * services: they pick the hooks up when they are built. `serviceName` names the process in traces.
 */
export async function startTracing(config: TracingConfig | null, serviceName: string): Promise<Tracing | null> {
  if (config === null || active !== null) return active;
  const { createTracing } = await import('./tracing-sdk.js');
  active = createTracing(config, serviceName);
  return active;
}

/** The tracing hooks, or null when tracing is off (the default). */
export const tracing = (): Tracing | null => active;
