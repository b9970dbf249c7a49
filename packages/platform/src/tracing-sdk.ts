// The OpenTelemetry SDK, loaded only by startTracing() (tracing.ts) when an OTLP endpoint is set.
// One tracer provider per process: AsyncLocalStorage carries the active span through a request,
// W3C trace context crosses HTTP, spans are batched to OTLP/HTTP (JSON). Apollo Gateway's own spans
// (gateway.request, gateway.plan, gateway.execute, gateway.fetch) and Prisma's (prisma:client:*,
// including one db_query span per SQL statement, enabled by the subgraphs) use the same global
// provider.
import { context, propagation, ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AlwaysOnSampler, BatchSpanProcessor, NodeTracerProvider, ParentBasedSampler } from '@opentelemetry/sdk-trace-node';
import type { ApolloServerPlugin } from '@apollo/server';
import type { RequestHandler } from 'express';
import type { Fetcher, Tracing, TracingConfig } from './tracing.js';

/** The attribute that carries the gateway's request id (also in every log line of the request). */
export const REQUEST_ID_ATTRIBUTE = 'request.id';

export function createTracing(config: TracingConfig, serviceName: string): Tracing {
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': serviceName }),
    // Explicit, so no OTEL_* variable changes behaviour behind the config module's back.
    sampler: new ParentBasedSampler({ root: new AlwaysOnSampler() }),
    spanProcessors: [
      new BatchSpanProcessor(new OTLPTraceExporter({ url: `${config.endpoint.replace(/\/+$/, '')}/v1/traces` }), {
        scheduledDelayMillis: config.scheduleDelayMs,
        maxQueueSize: 4096,
        maxExportBatchSize: 512,
        exportTimeoutMillis: 10_000,
      }),
    ],
  });
  provider.register(); // global provider, AsyncLocalStorage context manager, W3C tracecontext + baggage propagator
  // (Prisma's instrumentation is the subgraphs' to add: subgraph-kit's prisma-tracing.ts.)

  const serverSpan = (service: string): RequestHandler => {
    const tracer = trace.getTracer(service);
    return (req, res, next) => {
      const parent = propagation.extract(ROOT_CONTEXT, req.headers);
      const span = tracer.startSpan(
        `${req.method} ${req.path}`,
        {
          kind: SpanKind.SERVER,
          attributes: {
            'http.request.method': req.method,
            'http.route': req.path,
            'url.path': req.path,
            'url.scheme': 'http',
            'client.address': req.socket.remoteAddress ?? '',
            [REQUEST_ID_ATTRIBUTE]: String(res.locals.requestId ?? ''),
          },
        },
        parent,
      );
      let ended = false;
      const end = () => {
        if (ended) return;
        ended = true;
        span.setAttribute('http.response.status_code', res.statusCode);
        if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
      };
      res.once('finish', end);
      res.once('close', end);
      context.with(trace.setSpan(parent, span), next);
    };
  };

  const apolloPlugin = (): ApolloServerPlugin => ({
    async requestDidStart() {
      const span: Span | undefined = trace.getActiveSpan();
      if (!span) return;
      return {
        async didResolveOperation({ operationName, operation }) {
          if (operation) span.setAttribute('graphql.operation.type', operation.operation);
          if (operationName) span.setAttribute('graphql.operation.name', operationName);
        },
        async willSendResponse({ response }) {
          const errors = response.body.kind === 'single' ? response.body.singleResult.errors : undefined;
          if (errors?.length) span.setAttribute('graphql.error.codes', [...new Set(errors.map((e) => String(e.extensions?.code ?? 'UNKNOWN')))]);
        },
      };
    },
  });

  const clientCall = <T extends { status: number }>(subgraph: string, input: string, given: Record<string, string>, send: (headers: Record<string, string>) => Promise<T>, method = 'POST'): Promise<T> => {
    const tracer = trace.getTracer('gateway');
    const url = new URL(input);
    const headers = { ...given };
    const span = tracer.startSpan(`${method} ${subgraph}`, {
      kind: SpanKind.CLIENT,
      attributes: {
        'http.request.method': method,
        'url.full': url.toString(),
        'server.address': url.hostname,
        'server.port': Number(url.port || 80),
        'peer.service': subgraph,
        [REQUEST_ID_ATTRIBUTE]: headers['x-request-id'] ?? '',
      },
    });
    const active = trace.setSpan(context.active(), span);
    propagation.inject(active, headers); // traceparent: this span is the subgraph's parent
    return context.with(active, () => send(headers)).then(
      (response) => {
        span.setAttribute('http.response.status_code', response.status);
        if (response.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
        return response;
      },
      (error: unknown) => {
        span.recordException(error as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error)?.name });
        span.setAttribute('error.type', (error as Error)?.name ?? 'Error');
        span.end();
        throw error;
      },
    );
  };

  const clientFetch = (subgraph: string, fetcher: Fetcher): Fetcher => (input, init) =>
    clientCall(subgraph, input, { ...(init.headers as Record<string, string> | undefined) }, (headers) => fetcher(input, { ...init, headers }), init.method ?? 'GET');

  // Named and shaped like Prisma's db_query spans, so a trace reads the same whichever sent the SQL.
  const sqlSpan = <T>(sql: string, send: () => Promise<T>): Promise<T> => {
    const span = trace.getTracer('sql').startSpan('db_query', { kind: SpanKind.CLIENT, attributes: { 'db.system.name': 'postgresql', 'db.query.text': sql } });
    return context.with(trace.setSpan(context.active(), span), send).then(
      (result) => {
        span.end();
        return result;
      },
      (error: unknown) => {
        span.recordException(error as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error)?.name });
        span.end();
        throw error;
      },
    );
  };

  return { serverSpan, apolloPlugin, clientFetch, clientCall, sqlSpan, flush: () => provider.forceFlush() };
}
