// Request deduplication (DEDUP_ENABLED). Inbound: identical queries in flight at the same time share
// one execution — same document, operation and variables, and the same caller (every anonymous
// caller is one caller; a user or partner shares only with themselves, since whether a response is
// private is known only once it has been built). Everything before execution still happens per
// request (authentication, limits, cost and budget, the response cache's lookup); each request
// gets its own response with its own request id, and the cache policy the execution arrived at.
// Outbound: identical subgraph fetches in flight share one request (same subgraph, body and
// identity claims), each fetch parsing its own copy of the answer (the gateway merges into what it
// receives). Queries only: a mutation never waits for, or lends, an execution or a fetch.
// Reads never join work that began before a write: every mutation this gateway runs moves the
// write epoch when it starts and when it ends, and in-flight work of an earlier epoch is not joined;
// with the response cache on, an execution is shared only by requests whose cache lookups read the
// same store clock, which every purge (every write, on any replica) advances. (Without the cache, a
// write through another replica is not seen: a read that starts right after it may still join an
// execution that began, at most one execution earlier, before it.)
import type { GatewayExecutor, GatewayGraphQLRequestContext, GatewayInterface } from '@apollo/server-gateway-interface';
import type { Counter } from 'prom-client';
import type { Identity } from '@commerce/platform/identity';
import { identityClaimsKey } from '@commerce/platform/identity';
import { stableStringify } from '../cache/response-cache.js';

export type Direction = 'inbound' | 'outbound';

/** Work in flight by key, joined only within the write epoch it began in. */
export class InFlight<T> {
  private readonly pending = new Map<string, { epoch: number; promise: Promise<T>; until: number }>();

  constructor(
    private readonly dedup: Deduplication,
    private readonly direction: Direction,
  ) {}

  /** The result of the work in flight under `key` (if it began in this epoch and ends by `until`), or of `work`, shared meanwhile. */
  run(key: string, work: () => Promise<T>, until = Number.POSITIVE_INFINITY): { promise: Promise<T>; shared: boolean } {
    const epoch = this.dedup.epoch;
    const found = this.pending.get(key);
    if (found && found.epoch === epoch && found.until <= until) {
      this.dedup.counted.inc({ direction: this.direction });
      return { promise: found.promise, shared: true };
    }
    const entry = { epoch, promise: work(), until };
    this.pending.set(key, entry);
    const done = () => {
      if (this.pending.get(key) === entry) this.pending.delete(key);
    };
    entry.promise.then(done, done);
    return { promise: entry.promise, shared: false };
  }

  get size(): number {
    return this.pending.size;
  }
}

/** The gateway's deduplication: the write epoch and the counter both directions share. */
export class Deduplication {
  epoch = 0;

  constructor(readonly counted: Counter<'direction'>) {}

  /** Around a mutation: work in flight before it, or during it, is not joined after it. */
  async write<T>(work: () => Promise<T>): Promise<T> {
    this.epoch++;
    try {
      return await work();
    } finally {
      this.epoch++;
    }
  }
}

/** Who may share an execution: every anonymous caller alike, anyone else only with themselves; null: nobody (internal calls). */
export function executionCaller(identity: Identity | undefined): string | null {
  if (!identity || identity.kind === 'service') return null;
  return identity.kind === 'anonymous' ? 'anonymous' : identityClaimsKey(identity);
}

/** What the gateway's context must carry for deduplication. */
export interface DedupContext {
  identity: Identity;
  /** Set on a request that took its result from another request's execution (the response cache does not store it). */
  sharedExecution?: boolean;
  /** The response cache's clock at this request's lookup, when it made one (response-cache.ts). */
  cacheReadStartedAt?: number;
}

interface Execution {
  result: Awaited<ReturnType<GatewayExecutor>>;
  /** The cache policy the execution arrived at (the subgraphs' Cache-Control). */
  policy: { maxAge?: number; scope?: unknown };
}

/** `gateway` with its executor deduplicated (Apollo Server asks the gateway for its executor once it has loaded). */
export function deduplicatingGateway(gateway: GatewayInterface, dedup: Deduplication): GatewayInterface {
  const executions = new InFlight<Execution>(dedup, 'inbound');
  const wrap = (execute: GatewayExecutor): GatewayExecutor => async (requestContext: GatewayGraphQLRequestContext) => {
    const kind = requestContext.operation?.operation;
    if (kind === 'mutation') return dedup.write(() => execute(requestContext));
    const context = requestContext.context as Partial<DedupContext>;
    const caller = kind === 'query' ? executionCaller(context.identity) : null;
    if (caller === null) return execute(requestContext);
    const key = `${requestContext.queryHash}\0${requestContext.operationName ?? ''}\0${stableStringify(requestContext.request.variables ?? {})}\0${caller}\0${context.cacheReadStartedAt ?? ''}`;
    const { promise, shared } = executions.run(key, async () => {
      const result = await execute(requestContext);
      const { maxAge, scope } = requestContext.overallCachePolicy;
      return { result, policy: { maxAge, scope } };
    });
    const execution = await promise;
    if (shared) {
      context.sharedExecution = true;
      requestContext.overallCachePolicy.restrict(execution.policy);
    }
    return execution.result;
  };
  return {
    onSchemaLoadOrUpdate: (callback) => gateway.onSchemaLoadOrUpdate(callback),
    load: async (options) => {
      const loaded = await gateway.load(options);
      return { ...loaded, executor: loaded.executor ? wrap(loaded.executor) : null };
    },
    stop: () => gateway.stop(),
  };
}
