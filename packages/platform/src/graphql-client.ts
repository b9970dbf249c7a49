// A GraphQL call from one service to another, made the way the gateway makes its subgraph
// fetches: a timeout per attempt (never past the caller's deadline), retries of queries after a
// transport failure with jittered backoff, a circuit breaker per target that fails fast while it
// is down, and on every attempt the request id, the caller's identity as the gateway signed it,
// and (with tracing on) a client span whose context travels as `traceparent`.
import { setTimeout as sleep } from 'node:timers/promises';
import CircuitBreaker from 'opossum';
import { deadlineHeaders, timeLeft } from './deadline.js';
import { IDENTITY_HEADER } from './identity.js';
import { type Fetcher, tracing } from './tracing.js';

export interface GraphQLClientOptions {
  /** The target's name (spans, errors). */
  name: string;
  url: string;
  /** Per attempt, in milliseconds. */
  timeoutMs: number;
  /** Extra attempts for a query after a transport failure. */
  retries: number;
  /** How long the breaker stays open before it lets one probe through. */
  breakerResetMs: number;
}

export interface Call {
  requestId?: string;
  /** The caller's identity token as the gateway signed it (forwarded, never minted here). */
  identityToken?: string | null;
  /** Epoch milliseconds past which nothing more is attempted. */
  deadline?: number;
  /** Whether the operation may be sent again after a transport failure (queries: yes). */
  retryable?: boolean;
}

/**
 * The circuit breaker's policy for a call to another service (the gateway's subgraph fetches and
 * GraphQLClient alike): open when half the calls of the last 10 s failed (5 at least), probe again
 * after `resetMs`; `isFailure` tells availability failures (which count) from the rest.
 */
export const breakerPolicy = (resetMs: number, isFailure: (error: unknown) => boolean): CircuitBreaker.Options => ({
  timeout: false, // each attempt has its own timeout
  resetTimeout: resetMs,
  errorThresholdPercentage: 50,
  volumeThreshold: 5,
  rollingCountTimeout: 10_000,
  errorFilter: (error: unknown) => !isFailure(error),
});

/** Full jitter before retry `attempt` (0-based): 0-50 ms, then 0-100 ms, … */
export const retryBackoff = (attempt: number): Promise<void> => sleep(Math.random() * 50 * 2 ** attempt);

export type UnavailableReason = 'timeout' | 'unreachable' | 'http_5xx' | 'circuit_open' | 'deadline';

/** The target could not answer (the caller decides what that means for its own answer). */
export class GraphQLUnavailableError extends Error {
  constructor(
    readonly target: string,
    readonly reason: UnavailableReason,
    cause?: unknown,
  ) {
    super(`${target} is unavailable (${reason.replace('_', ' ')})`, { cause });
  }
}

export interface GraphQLAnswer<T> {
  data?: T | null;
  errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
}

class HttpStatusError extends Error {
  constructor(readonly status: number) {
    super(`answered HTTP ${status}`);
  }
}

/**
 * Why a call failed at the transport (the breaker open, a timeout, nothing listening), or null for
 * anything else: what the gateway's subgraph fetches and GraphQLClient both count as unavailable.
 */
export function transportFailure(error: unknown): 'circuit_open' | 'timeout' | 'unreachable' | null {
  const e = error as { name?: string; code?: string; message?: string; cause?: { name?: string } };
  if (e?.code === 'EOPENBREAKER') return 'circuit_open';
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError' || e?.cause?.name === 'TimeoutError') return 'timeout';
  if (error instanceof TypeError && e.message === 'fetch failed') return 'unreachable';
  // undici's own errors (the gateway's subgraph client, subgraph-http.ts) and the socket's.
  if (e?.code !== undefined && TIMEOUT_CODES.has(e.code)) return 'timeout';
  if (e?.code !== undefined && UNREACHABLE_CODES.has(e.code)) return 'unreachable';
  return null;
}

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);

function reasonOf(error: unknown): UnavailableReason | null {
  if (error instanceof GraphQLUnavailableError) return error.reason;
  if (error instanceof HttpStatusError && error.status >= 500) return 'http_5xx';
  return transportFailure(error);
}

export class GraphQLClient {
  private readonly breaker: CircuitBreaker<[string, Record<string, unknown>, Call], GraphQLAnswer<unknown>>;
  private readonly fetcher: Fetcher;

  constructor(private readonly options: GraphQLClientOptions) {
    this.fetcher = tracing()?.clientFetch(options.name, fetch) ?? fetch;
    this.breaker = new CircuitBreaker(
      (document: string, variables: Record<string, unknown>, call: Call) => this.attempts(document, variables, call),
      // A deadline that passed is the caller's lateness, not the target's failure.
      breakerPolicy(options.breakerResetMs, (error) => reasonOf(error) !== null && reasonOf(error) !== 'deadline'),
    );
  }

  /** The answer (data and GraphQL errors as the target gave them); throws GraphQLUnavailableError when it cannot be had. */
  async request<T>(document: string, variables: Record<string, unknown>, call: Call = {}): Promise<GraphQLAnswer<T>> {
    try {
      return (await this.breaker.fire(document, variables, call)) as GraphQLAnswer<T>;
    } catch (error) {
      const reason = reasonOf(error);
      if (reason === null) throw error;
      throw error instanceof GraphQLUnavailableError ? error : new GraphQLUnavailableError(this.options.name, reason, error);
    }
  }

  private async attempts(document: string, variables: Record<string, unknown>, call: Call): Promise<GraphQLAnswer<unknown>> {
    for (let attempt = 0; ; attempt++) {
      // The caller's deadline, or the request's this call is made for (never later than that).
      const left = Math.min((call.deadline ?? Number.POSITIVE_INFINITY) - Date.now(), timeLeft());
      if (left <= 0) throw new GraphQLUnavailableError(this.options.name, 'deadline');
      try {
        return await this.once(document, variables, call, Math.min(this.options.timeoutMs, left));
      } catch (error) {
        if (!(call.retryable ?? true) || attempt >= this.options.retries || reasonOf(error) === null) throw error;
        await retryBackoff(attempt);
      }
    }
  }

  private async once(document: string, variables: Record<string, unknown>, call: Call, timeoutMs: number): Promise<GraphQLAnswer<unknown>> {
    const response = await this.fetcher(this.options.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(call.requestId ? { 'x-request-id': call.requestId } : {}),
        ...(call.identityToken ? { [IDENTITY_HEADER]: call.identityToken } : {}),
        // What the target has before this attempt is abandoned: it may only shorten that.
        ...deadlineHeaders(timeoutMs),
      },
      body: JSON.stringify({ query: document, variables }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (response.status >= 500) throw new HttpStatusError(response.status);
    return (await response.json()) as GraphQLAnswer<unknown>;
  }

  /** Stops the breaker's timers (on shutdown). */
  shutdown(): void {
    this.breaker.shutdown();
  }
}
