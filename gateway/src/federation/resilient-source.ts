// One subgraph as the gateway sees it: every fetch has a deadline, retries included, and tells the
// subgraph how long it has left (`x-deadline-ms`); queries (never mutations) are retried on
// transport failures with jittered backoff, within that deadline and a retry budget; a circuit breaker
// fails fast while the subgraph is down and probes until it is back. A subgraph that cannot answer
// costs only its own fields: the fetch returns SUBGRAPH_UNAVAILABLE errors at the paths it would
// have filled, and the gateway serves the rest (partial data, HTTP 200).
import { type GraphQLDataSourceProcessOptions, RemoteGraphQLDataSource } from '@apollo/gateway';
import type { GatewayGraphQLResponse } from '@apollo/server-gateway-interface';
import { GraphQLError } from 'graphql';
import CircuitBreaker from 'opossum';
import type { Counter, Gauge, Histogram } from 'prom-client';
import { DEADLINE_HEADER } from '@commerce/platform/deadline';
import { breakerPolicy, retryBackoff, transportFailure } from '@commerce/platform/graphql-client';
import { type Fetcher, tracing } from '@commerce/platform/tracing';
import { failurePaths, fetchDocument, operationKind } from './failure-paths.js';

export interface ResilienceConfig {
  /** Per fetch, retries included, in milliseconds: a slow subgraph gets it all, a quick failure is tried again within it. */
  timeoutMs: number;
  /** Extra attempts for a query after a transport failure. */
  retries: number;
  /** How long the breaker stays open before it lets one probe through. */
  breakerResetMs: number;
}

export interface SubgraphFetchMetrics {
  duration: Histogram<'subgraph'>;
  failures: Counter<'subgraph' | 'reason'>;
  breakerState: Gauge<'subgraph'>;
}

type Reason = 'timeout' | 'unreachable' | 'http_5xx' | 'circuit_open';

/** Why a fetch failed for availability reasons, or null for anything else (a bug, a 4xx). */
export function availabilityFailure(error: unknown): Reason | null {
  // Apollo's RemoteGraphQLDataSource reports a 5xx as a GraphQLError carrying the response.
  if (error instanceof GraphQLError && ((error.extensions as { response?: { status?: number } }).response?.status ?? 0) >= 500) return 'http_5xx';
  return transportFailure(error);
}

type Options<C extends Record<string, any>> = GraphQLDataSourceProcessOptions<C>;
type IncomingOptions<C extends Record<string, any>> = Extract<Options<C>, { document?: unknown }>;
/** A fetch for a client's operation (not a health check or schema load); the enum is not exported. */
const isIncoming = <C extends Record<string, any>>(options: Options<C>): options is IncomingOptions<C> => (options.kind as string) === 'incoming operation';

const BREAKER_STATE = { closed: 0, halfOpen: 1, open: 2 } as const;

/** Below this, a retry is not worth starting: it would be abandoned before a subgraph could answer. */
const MIN_ATTEMPT_MS = 20;

/** The attempt's time, as its deadline header says (Apollo hands the fetcher plain header objects). */
function attemptMs(headers: unknown): number | undefined {
  const value = headers && typeof headers === 'object' ? (headers as Record<string, unknown>)[DEADLINE_HEADER] : undefined;
  return typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : undefined;
}

/** What the gateway adds to every fetch, and reads from every answer. */
export interface FetchHooks<C extends Record<string, any>> {
  beforeSend(options: GraphQLDataSourceProcessOptions<C>): void | Promise<void>;
  afterReceive(response: GatewayGraphQLResponse, context: Partial<C>): void;
}

export class ResilientDataSource<TContext extends Record<string, any>> extends RemoteGraphQLDataSource<TContext> {
  private readonly breaker: CircuitBreaker<[IncomingOptions<TContext>, boolean], GatewayGraphQLResponse>;
  /** Retries allowed right now: each fetch earns a fifth of one, up to ten, so retries stay under ~20% of traffic. */
  private retryTokens = 10;
  /** Each fetch's deadline (epoch ms), for its attempts' headers and timeouts. */
  private readonly deadlines = new WeakMap<object, number>();

  constructor(
    readonly subgraph: string,
    url: string,
    private readonly resilience: ResilienceConfig,
    private readonly metrics: SubgraphFetchMetrics,
    private readonly hooks: FetchHooks<TContext>,
  ) {
    // Each attempt is abandoned when its deadline (the header the subgraph gets) passes.
    const timed: Fetcher = (input, init) => fetch(input, { ...init, signal: AbortSignal.timeout(attemptMs(init?.headers) ?? resilience.timeoutMs) });
    // With tracing on, each attempt is a client span whose context travels as `traceparent`.
    super({ url, fetcher: (tracing()?.clientFetch(subgraph, timed) ?? timed) as never });
    // Only availability failures count against the subgraph.
    this.breaker = new CircuitBreaker(
      (options: IncomingOptions<TContext>, retryable: boolean) => this.attempt(options, retryable),
      breakerPolicy(resilience.breakerResetMs, (error) => availabilityFailure(error) !== null),
    );
    const state = (value: number) => () => metrics.breakerState.set({ subgraph }, value);
    this.breaker.on('close', state(BREAKER_STATE.closed));
    this.breaker.on('halfOpen', state(BREAKER_STATE.halfOpen));
    this.breaker.on('open', state(BREAKER_STATE.open));
    metrics.breakerState.set({ subgraph }, BREAKER_STATE.closed);
  }

  override async willSendRequest(options: GraphQLDataSourceProcessOptions<TContext>): Promise<void> {
    await this.hooks.beforeSend(options);
    const deadline = this.deadlines.get(options.request);
    if (deadline !== undefined) options.request.http?.headers.set(DEADLINE_HEADER, String(Math.max(1, Math.floor(deadline - Date.now()))));
  }

  override async didReceiveResponse({ response, context }: { response: GatewayGraphQLResponse; context: Partial<TContext> }): Promise<GatewayGraphQLResponse> {
    this.hooks.afterReceive(response, context);
    return response;
  }

  override async process(options: GraphQLDataSourceProcessOptions<TContext>): Promise<GatewayGraphQLResponse> {
    if (!isIncoming(options)) return super.process(options);
    this.retryTokens = Math.min(10, this.retryTokens + 0.2);
    const end = this.metrics.duration.startTimer({ subgraph: this.subgraph });
    const document = fetchDocument(options.document, options.request.query);
    this.deadlines.set(options.request, Date.now() + this.resilience.timeoutMs);
    try {
      return await this.breaker.fire(options, operationKind(document) === 'query');
    } catch (error) {
      const reason = availabilityFailure(error);
      if (reason === null) throw error;
      this.metrics.failures.inc({ subgraph: this.subgraph, reason });
      const message = `The ${this.subgraph} service is unavailable (${reason.replace('_', ' ')}); its fields are missing from this response.`;
      return {
        errors: failurePaths(document, options.request.variables).map((path) => ({
          message,
          path,
          extensions: { code: 'SUBGRAPH_UNAVAILABLE', subgraph: this.subgraph, reason },
        })),
      };
    } finally {
      end();
    }
  }

  private async attempt(options: IncomingOptions<TContext>, retryable: boolean): Promise<GatewayGraphQLResponse> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await super.process(options);
      } catch (error) {
        if (!retryable || attempt >= this.resilience.retries || availabilityFailure(error) === null || this.retryTokens < 1) throw error;
        const deadline = this.deadlines.get(options.request) ?? Number.POSITIVE_INFINITY;
        if (deadline - Date.now() < MIN_ATTEMPT_MS) throw error; // a slow failure used the time up
        this.retryTokens -= 1;
        await retryBackoff(attempt);
        if (deadline - Date.now() < MIN_ATTEMPT_MS) throw error;
      }
    }
  }

  /** Stops the breaker's timers (on shutdown). */
  shutdown(): void {
    this.breaker.shutdown();
  }
}
