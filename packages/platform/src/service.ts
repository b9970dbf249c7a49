// The HTTP shell every service shares: POST /graphql (Apollo Server on Express), GET /health,
// GET /ready, GET /metrics. Built apart from listening, so tests listen on port 0.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer, type ApolloServerOptions, type BaseContext } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { expressMiddleware } from '@as-integrations/express5';
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import { deadlineFrom, withDeadline } from './deadline.js';
import { type Logger, statusLine } from './logger.js';
import { type ServiceMetrics, requestMetricsPlugin } from './metrics.js';
import { formatErrorFor } from './errors.js';
import { INVALID_JSON } from './json-body.js';
import { requestLogPlugin } from './request-log.js';
import { SHUTDOWN_TIMEOUT_DEFAULT_MS, type ShutdownConfig, stopOnSignals } from './shutdown.js';
import { tracing } from './tracing.js';

export interface ReadyReport {
  ready: boolean;
  checks: Record<string, unknown>;
}

/** What every service does at the HTTP layer, before GraphQL sees a request. */
export interface EdgeConfig {
  /** Larger request bodies are refused with 413. */
  bodyLimitBytes: number;
  /** A client must have sent all its headers within this time (slowloris), else 408. */
  headersTimeoutMs: number;
  /** ... and the whole request, body included, within this time, else 408. */
  requestTimeoutMs: number;
  /** Origins allowed by CORS (gateway). An origin without a port allows every port of that host. */
  corsOrigins?: string[];
}

export const EDGE_DEFAULTS = { bodyLimitBytes: 1024 * 1024, headersTimeoutMs: 10_000, requestTimeoutMs: 30_000 } as const;

export interface ServiceOptions<C extends BaseContext> {
  name: string;
  nodeEnv: string;
  logger: Logger;
  metrics: ServiceMetrics;
  /** The Apollo Server options without plugins/formatError, which the shell adds. */
  apollo: Omit<ApolloServerOptions<C>, 'plugins' | 'formatError'> & { plugins?: ApolloServerOptions<C>['plugins'] };
  context: (input: { req: IncomingMessage; requestId: string }) => Promise<C>;
  ready: () => Promise<ReadyReport>;
  edge?: EdgeConfig;
  /** Other routes, served before GraphQL and apart from its middleware (the gateway's explorer). */
  routes?: RequestHandler[];
  /** Runs on /graphql before the body is read (CORS, compression). */
  early?: RequestHandler[];
  /** Runs on /graphql after the body is parsed, before Apollo (static query limits). */
  beforeGraphQL?: RequestHandler[];
  /** Runs after the HTTP server has drained (close pools, embedded databases). */
  onStop?: () => Promise<void>;
  /**
   * SHUTDOWN_TIMEOUT_MS: how long stop() lets requests in flight finish before it cuts them. The
   * signal handler's own deadline (shutdown.ts) starts earlier, at the signal, so in a process it is
   * always that deadline that cuts, logs it and exits 1.
   */
  shutdownTimeoutMs?: number;
  /**
   * Sees every request before Express (the gateway's hit lane); calls `pass` for the ones it does
   * not answer. A body it read must be left parsed on `req.body` (Express then skips reading it).
   */
  front?: (req: IncomingMessage, res: ServerResponse, pass: () => void) => void;
  /** What GET /metrics answers, when not this process's registry alone (the gateway's workers, summed). */
  scrapeMetrics?: () => Promise<string>;
  /**
   * Express's ETag on every answer (default true): the gateway's GET queries revalidate with it
   * (304 on If-None-Match). A subgraph's callers never ask conditionally, and hashing each body
   * for nothing cost about 1 % of an orders process's CPU in a burst of orders.
   */
  etag?: boolean;
}

export interface Service {
  readonly name: string;
  readonly httpServer: Server;
  /** Starts listening; port 0 picks a free port. Resolves with the bound URL of /graphql. */
  listen(port: number, host?: string): Promise<{ url: string; port: number }>;
  /**
   * The first step of a shutdown: /ready answers 503 (saying it is stopping) and every response
   * from now on asks its client to close the connection; everything is still served.
   */
  markStopping(): void;
  /** Stops accepting connections, closes idle ones, drains in-flight requests (each connection closed after its response), then runs onStop. */
  stop(): Promise<void>;
  /** Requests being answered right now. */
  readonly inFlight: number;
  /** Closes every connection at once, requests in flight included (a shutdown past its deadline). */
  cut(): void;
}

export const requestIdOf = (req: IncomingMessage): string => {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && /^[\w.:-]{1,128}$/.test(given) ? given : randomUUID();
};

export async function createService<C extends BaseContext>(options: ServiceOptions<C>): Promise<Service> {
  const app = express();
  app.disable('x-powered-by');
  if (options.etag === false) app.disable('etag');
  const edge = options.edge ?? EDGE_DEFAULTS;
  let stoppingSince: number | undefined;
  /** Responses not yet finished (or abandoned). */
  const inFlight = new Set<ServerResponse>();
  const handle = options.front ? (req: IncomingMessage, res: ServerResponse) => options.front!(req, res, () => app(req, res)) : app;
  const httpServer = createServer(
    {
      headersTimeout: edge.headersTimeoutMs,
      requestTimeout: edge.requestTimeoutMs,
      // How often Node looks for requests past those timeouts (its default, 30 s, would let a
      // stalled client hold a connection that long whatever the timeouts say).
      connectionsCheckingInterval: Math.max(100, Math.min(1000, edge.headersTimeoutMs / 2)),
    },
    (req, res) => {
      inFlight.add(res);
      res.once('close', () => inFlight.delete(res));
      if (stoppingSince !== undefined) res.setHeader('connection', 'close');
      handle(req, res);
    },
  );
  const shutdownTimeoutMs = options.shutdownTimeoutMs ?? SHUTDOWN_TIMEOUT_DEFAULT_MS;
  const traces = tracing(); // null unless startTracing() ran with an endpoint
  const apollo = new ApolloServer<C>({
    // Apollo's own messages go through the service's logger (and so its sink), not console.
    logger: options.logger,
    ...options.apollo,
    includeStacktraceInErrorResponses: options.nodeEnv === 'development',
    formatError: formatErrorFor(options.nodeEnv),
    // Signals are ours (shutdown.ts). Apollo's own handler (on unless NODE_ENV=test) ignores a
    // second signal and kills the process itself after stop(), racing onStop.
    stopOnTerminationSignals: false,
    plugins: [
      // Closes idle keep-alive connections at once and busy ones after their response; cuts what
      // is left after the grace period.
      ApolloServerPluginDrainHttpServer({ httpServer, stopGracePeriodMillis: shutdownTimeoutMs }),
      requestMetricsPlugin(options.metrics),
      requestLogPlugin(options.logger),
      ...(traces ? [traces.apolloPlugin()] : []),
      ...(options.apollo.plugins ?? []),
    ],
  } as ApolloServerOptions<C>);
  await apollo.start();

  app.get('/health', (_req, res) => void res.json({ status: 'ok', service: options.name }));
  app.get('/ready', async (_req, res) => {
    if (stoppingSince !== undefined) {
      res.status(503).json({ service: options.name, ready: false, stopping: true, stoppingForMs: Math.round(performance.now() - stoppingSince), checks: {} });
      return;
    }
    const report = await options.ready().catch((error: unknown) => ({ ready: false, checks: { error: String(error) } }));
    res.status(report.ready ? 200 : 503).json({ service: options.name, ...report });
  });
  app.get('/metrics', async (_req, res) => {
    res.type(options.metrics.registry.contentType).send(await (options.scrapeMetrics ?? (() => options.metrics.registry.metrics()))());
  });
  if (options.routes?.length) app.use(...options.routes);
  // GraphQL on /graphql; a browser opening / (or /graphql) gets Apollo's landing page (Sandbox).
  app.all(
    ['/', '/graphql'],
    (req, res, next) => {
      res.locals.arrivedAt = Date.now();
      const requestId = requestIdOf(req);
      res.locals.requestId = requestId;
      res.setHeader('x-request-id', requestId);
      next();
    },
    ...(options.early ?? []),
    express.json({ limit: edge.bodyLimitBytes }),
    ...(options.beforeGraphQL ?? []),
    ...(traces ? [traces.serverSpan(options.name)] : []),
    // The caller's deadline, counted from the request's arrival, for everything the request does.
    (req, res, next) => withDeadline(deadlineFrom(req.headers, res.locals.arrivedAt as number), next),
    expressMiddleware(apollo, { context: async ({ req, res }) => options.context({ req, requestId: res.locals.requestId as string }) }),
  );

  app.use(httpErrors(options.logger));

  let stopping: Promise<void> | undefined;
  // Stopping: every response from now on, and every one still to be sent, asks its client to open a
  // new connection (which the load balancer, having seen /ready 503, sends elsewhere), and Node
  // closes this one after it.
  const markStopping = () => {
    if (stoppingSince !== undefined) return;
    stoppingSince = performance.now();
    for (const res of inFlight) if (!res.headersSent) res.setHeader('connection', 'close');
  };
  return {
    name: options.name,
    httpServer,
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(port, host, () => {
          const address = httpServer.address() as AddressInfo;
          const shown = host === undefined || host === '0.0.0.0' || host === '::' ? 'localhost' : host;
          resolve({ url: `http://${shown}:${address.port}/graphql`, port: address.port });
        });
      }),
    markStopping,
    get inFlight() {
      return inFlight.size;
    },
    cut: () => httpServer.closeAllConnections(),
    stop: () =>
      (stopping ??= (async () => {
        markStopping();
        await apollo.stop();
        if (httpServer.listening) await new Promise<void>((resolve) => httpServer.close(() => resolve()));
        await options.onStop?.();
        await traces?.flush();
      })()),
  };
}

/** A GraphQL-shaped error body for a request refused before GraphQL saw it. */
export function sendRequestError(res: import('express').Response, status: number, code: string, message: string, extensions: Record<string, unknown> = {}): void {
  res.status(status).json({ errors: [{ message, extensions: { code, ...extensions } }] });
}

/**
 * Failures before GraphQL (body too large, invalid JSON, unsupported encoding) answered as GraphQL
 * errors with a code, never Express' HTML page (which shows a stack trace in development).
 */
function httpErrors(logger: Logger): ErrorRequestHandler {
  return (error, _req, res, next) => {
    if (res.headersSent) return next(error);
    const status = typeof error?.status === 'number' && error.status >= 400 && error.status < 500 ? (error.status as number) : 500;
    if (status === 413) return sendRequestError(res, 413, 'BAD_REQUEST', `The request body is larger than the limit of ${error.limit} bytes.`, { limit: 'body', max: error.limit });
    if (error?.type === 'entity.parse.failed') return sendRequestError(res, 400, 'BAD_REQUEST', INVALID_JSON);
    if (status < 500) return sendRequestError(res, status, 'BAD_REQUEST', typeof error?.expose === 'boolean' && error.expose ? String(error.message) : 'Bad request.');
    logger.error({ err: error }, 'unexpected error before GraphQL');
    return sendRequestError(res, 500, 'INTERNAL_SERVER_ERROR', 'Internal server error.');
  };
}

/**
 * For index.ts files: listen on the configured port; on SIGINT/SIGTERM, stop within the shutdown
 * timeout (see shutdown.ts: ready 503, delay, drain, onStop) and exit.
 */
export async function runUntilSignal(service: Service, config: { port: number; host: string; shutdown: ShutdownConfig }, log: (line: string) => void = statusLine): Promise<void> {
  const { url } = await service.listen(config.port, config.host);
  log(`${service.name} ready at ${url}`);
  stopOnSignals(service.name, () => [service], config.shutdown, log);
}
