// One subgraph as the gateway sees it: every fetch has a deadline, retries included, and tells the
// subgraph how long it has left (`x-deadline-ms`); queries (never mutations) are retried on
// transport failures with jittered backoff, within that deadline and a retry budget; a circuit breaker
// fails fast while the subgraph is down and probes until it is back. A subgraph that cannot answer
// costs only its own fields: the fetch returns SUBGRAPH_UNAVAILABLE errors at the paths it would
// have filled, and the gateway serves the rest (partial data, HTTP 200). Fetches go out through
// the gateway's own HTTP client (subgraph-http.ts), not Apollo's RemoteGraphQLDataSource, which
// builds node-fetch Headers and a Request per fetch and answers through the global fetch; what it
// does with an answer is done here the same way (a non-2xx is a GraphQLError carrying the
// response, a subgraph's Cache-Control restricts the request's cache policy).
import type { GraphQLDataSource, GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import type { GatewayGraphQLResponse } from '@apollo/server-gateway-interface';
import { STATUS_CODES } from 'node:http';
import { GraphQLError } from 'graphql';
import CircuitBreaker from 'opossum';
import type { Counter, Gauge, Histogram } from 'prom-client';
import { deadlineHeaders } from '@commerce/platform/deadline';
import { breakerPolicy, retryBackoff, transportFailure } from '@commerce/platform/graphql-client';
import { tracing } from '@commerce/platform/tracing';
import { failurePaths, fetchDocument, operationKind } from './failure-paths.js';
import type { SubgraphAnswer, SubgraphHttp } from './subgraph-http.js';
import type { InFlight } from './dedup.js';

export interface ResilienceConfig {
  /** Per fetch, retries included, in milliseconds: a slow subgraph gets it all, a quick failure is tried again within it. */
  timeoutMs: number;
  /**
   * The same for a mutation (never retried): longer, because a mutation given up on leaves its
   * outcome unknown to the client, while the subgraph, told the time left, answers by then with
   * what it could do (an order, or TRY_AGAIN with nothing written) even at a burst it must queue.
   */
  mutationTimeoutMs: number;
  /**
   * How much longer than that deadline the gateway still waits for a mutation's answer. The
   * subgraph answers by the deadline once it has read the request, but a request can wait unread
   * behind a saturated event loop (measured: seconds, in `npm start`'s one process at a burst), and
   * a read after its deadline is answered at once (`TRY_AGAIN`, nothing written). Giving up at
   * the deadline would turn that known answer into an unknown outcome.
   */
  mutationGraceMs: number;
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
  // A 5xx is a GraphQLError carrying the response (as Apollo's RemoteGraphQLDataSource reports it).
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

/** What the gateway adds to every fetch, and reads from every answer. */
export interface FetchHooks<C extends Record<string, any>> {
  /** Headers every attempt of a fetch made for this request carries (request id, identity). */
  headers(context: Partial<C>): Record<string, string> | Promise<Record<string, string>>;
  /** Who the fetch is made for, as the subgraph will be told (identical fetches for one caller may share a request); null: never shared. */
  caller(context: Partial<C>): string | null;
  afterReceive(response: GatewayGraphQLResponse, context: Partial<C>): void;
}

/** One fetch: its body (made once, sent by every attempt), its deadline and whether it may be retried. */
interface Fetch {
  body: string;
  headers: Record<string, string>;
  /** Epoch ms: the time the subgraph is told it has; no attempt outlives it (a mutation waits graceMs more for its answer). */
  deadline: number;
  /** How long past `deadline` an attempt still waits for its answer (mutations: mutationGraceMs; queries: 0). */
  graceMs: number;
  retryable: boolean;
  /** Fetches with the same caller and body may share an attempt (queries only). */
  caller: string | null;
}

/** The Cache-Control directives of a subgraph's answer (as Apollo's parseCacheControlHeader reads them). */
function cacheControl(header: string | null): Record<string, string | true> {
  const directives: Record<string, string | true> = {};
  if (!header) return directives;
  for (const part of header.trim().split(/\s*,\s*/)) {
    const [key, value] = part.split(/\s*=\s*/, 2) as [string, string | undefined];
    directives[key] = value === undefined ? true : value.replace(/^"|"$/g, '');
  }
  return directives;
}

/** Headers the gateway itself put on the request (Apollo's trace header, when usage reporting asks for it). */
function headersOf(headers: Iterable<[string, string]> | undefined): Record<string, string> {
  return headers ? Object.fromEntries(headers) : {};
}

const isJson = (contentType: string | null) => contentType !== null && (contentType.startsWith('application/json') || contentType.startsWith('application/graphql-response+json'));

export class ResilientDataSource<TContext extends Record<string, any>> implements GraphQLDataSource<TContext> {
  private readonly breaker: CircuitBreaker<[IncomingOptions<TContext>, Fetch], GatewayGraphQLResponse>;
  /** Retries allowed right now: each fetch earns a fifth of one, up to ten, so retries stay under ~20% of traffic. */
  private retryTokens = 10;
  private readonly target: URL;

  constructor(
    readonly subgraph: string,
    readonly url: string,
    private readonly resilience: ResilienceConfig,
    private readonly metrics: SubgraphFetchMetrics,
    private readonly hooks: FetchHooks<TContext>,
    private readonly http: SubgraphHttp,
    /** Identical query fetches in flight (DEDUP_ENABLED), or null. */
    private readonly shared: InFlight<SubgraphAnswer> | null = null,
  ) {
    this.target = new URL(url);
    // Only availability failures count against the subgraph.
    this.breaker = new CircuitBreaker(
      (options: IncomingOptions<TContext>, fetch: Fetch) => this.attempts(options, fetch),
      breakerPolicy(resilience.breakerResetMs, (error) => availabilityFailure(error) !== null),
    );
    const state = (value: number) => () => metrics.breakerState.set({ subgraph }, value);
    this.breaker.on('close', state(BREAKER_STATE.closed));
    this.breaker.on('halfOpen', state(BREAKER_STATE.halfOpen));
    this.breaker.on('open', state(BREAKER_STATE.open));
    metrics.breakerState.set({ subgraph }, BREAKER_STATE.closed);
  }

  async process(options: GraphQLDataSourceProcessOptions<TContext>): Promise<GatewayGraphQLResponse> {
    if (!isIncoming(options)) throw new Error(`${this.subgraph}: only fetches for client operations are supported (the gateway runs from a supergraph file)`);
    const { request } = options;
    if (!request.query) throw new Error('Missing query');
    this.retryTokens = Math.min(10, this.retryTokens + 0.2);
    const end = this.metrics.duration.startTimer({ subgraph: this.subgraph });
    const document = fetchDocument(options.document, request.query);
    const query = operationKind(document) === 'query';
    const fetch: Fetch = {
      body: JSON.stringify({ query: request.query, operationName: request.operationName, variables: request.variables, extensions: request.extensions }),
      headers: { ...headersOf(request.http?.headers), 'content-type': 'application/json', ...(await this.hooks.headers(options.context)) },
      deadline: Date.now() + (query ? this.resilience.timeoutMs : this.resilience.mutationTimeoutMs),
      graceMs: query ? 0 : this.resilience.mutationGraceMs,
      retryable: query,
      caller: query && this.shared ? this.hooks.caller(options.context) : null,
    };
    try {
      return await this.breaker.fire(options, fetch);
    } catch (error) {
      const reason = availabilityFailure(error);
      if (reason === null) throw error;
      this.metrics.failures.inc({ subgraph: this.subgraph, reason });
      const message = `The ${this.subgraph} service is unavailable (${reason.replace('_', ' ')}); its fields are missing from this response.`;
      return {
        errors: failurePaths(document, request.variables).map((path) => ({
          message,
          path,
          extensions: { code: 'SUBGRAPH_UNAVAILABLE', subgraph: this.subgraph, reason },
        })),
      };
    } finally {
      end();
    }
  }

  private async attempts(options: IncomingOptions<TContext>, fetch: Fetch): Promise<GatewayGraphQLResponse> {
    for (let attempt = 0; ; attempt++) {
      try {
        return this.respond(options, await this.send(fetch));
      } catch (error) {
        if (!fetch.retryable || attempt >= this.resilience.retries || availabilityFailure(error) === null || this.retryTokens < 1) throw error;
        if (fetch.deadline - Date.now() < MIN_ATTEMPT_MS) throw error; // a slow failure used the time up
        this.retryTokens -= 1;
        await retryBackoff(attempt);
        if (fetch.deadline - Date.now() < MIN_ATTEMPT_MS) throw error;
      }
    }
  }

  /**
   * One attempt: the time left travels as x-deadline-ms, and the attempt is abandoned when it is up.
   * An identical query fetch for the same caller already in flight (and due to end before this
   * one's deadline) is joined instead: the answer is shared as text, each fetch parses its own.
   */
  private send(fetch: Fetch): Promise<SubgraphAnswer> {
    const attempt = () => {
      const left = Math.max(1, Math.floor(fetch.deadline - Date.now()));
      const headers = { ...fetch.headers, ...deadlineHeaders(left) };
      const post = (sent: Record<string, string>) => this.http.post(this.target, sent, fetch.body, left + fetch.graceMs);
      // With tracing on, each attempt is a client span whose context travels as `traceparent`.
      const traces = tracing();
      return traces ? traces.clientCall(this.subgraph, this.url, headers, post) : post(headers);
    };
    if (this.shared === null || fetch.caller === null) return attempt();
    return this.shared.run(`${fetch.caller}\0${fetch.body}`, attempt, fetch.deadline).promise;
  }

  /** The answer as the gateway takes it (what RemoteGraphQLDataSource's sendRequest and respond do). */
  private respond(options: IncomingOptions<TContext>, answer: SubgraphAnswer): GatewayGraphQLResponse {
    const json = isJson(answer.contentType);
    const parse = () => (json ? (JSON.parse(answer.text) as unknown) : answer.text);
    if (answer.status < 200 || answer.status > 299) {
      const statusText = STATUS_CODES[answer.status] ?? '';
      let body: unknown;
      try {
        body = parse();
      } catch {
        body = answer.text;
      }
      throw new GraphQLError(`${answer.status}: ${statusText}`, {
        extensions: {
          response: { url: this.url, status: answer.status, statusText, body },
          ...(answer.status === 401 ? { code: 'UNAUTHENTICATED' } : answer.status === 403 ? { code: 'FORBIDDEN' } : {}),
        },
      });
    }
    const body = parse();
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new Error(`Expected JSON response body, but received: ${String(body)}`);
    const response = body as GatewayGraphQLResponse;
    this.hooks.afterReceive(response, options.context);
    const policy = options.incomingRequestContext.overallCachePolicy;
    if (policy && 'restrict' in policy) {
      const directives = cacheControl(answer.cacheControl);
      const maxAge = directives['max-age'];
      policy.restrict({
        maxAge: typeof maxAge === 'string' && /^[0-9]+$/.test(maxAge) ? Number(maxAge) : 0,
        ...(directives.private === true ? { scope: 'PRIVATE' } : {}),
        ...(directives.public === true ? { scope: 'PUBLIC' } : {}),
      });
    }
    return response;
  }

  /** Stops the breaker's timers (on shutdown). */
  shutdown(): void {
    this.breaker.shutdown();
  }
}
