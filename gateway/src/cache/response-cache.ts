// Layer 2: whole query responses, cached in the shared store and tagged with what they were built
// from (the subgraphs' `extensions.cacheTags`). Keys: the normalized operation, its variables and
// the caller's scope. What may be cached comes from the subgraphs' cache hints (their Cache-Control
// headers, which @apollo/gateway folds into the request's cache policy): the smallest maxAge and the
// narrowest scope win. A PRIVATE response is cached per caller, never for anonymous callers; a
// response with errors, a mutation and an uncacheable policy are never cached.
// Invalidation happens at the writer (see subgraph-cache.ts); the race with a slow read is settled
// by the store (cache-store.ts). Why not @apollo/server-plugin-response-cache: docs/adr/0001-cache-invalidation.md.
import { createHash } from 'node:crypto';
import { type ApolloServerPlugin, type GraphQLRequestContext, HeaderMap } from '@apollo/server';
import type { FailOpenCache } from '@commerce/platform/fail-open-cache';
import type { Identity } from '@commerce/platform/identity';
import { type DocumentNode, print } from 'graphql';
import type { Counter } from 'prom-client';

export interface ResponseCacheContext {
  identity: Identity;
  /** What the subgraphs said this response was built from. */
  cacheTags: Set<string>;
  /**
   * Its result came from another request's execution (deduplication), which began before this
   * request's lookup: stored under this request's later read time, a purge in between would be missed.
   */
  sharedExecution?: boolean;
  /**
   * The store's clock at this request's lookup (a miss), which only purges advance: two requests
   * that read the same value saw no write anywhere in between (deduplication shares only then).
   */
  cacheReadStartedAt?: number;
}

export interface ResponseCacheOptions<C extends ResponseCacheContext = ResponseCacheContext> {
  /** null: caching is off; every response says x-cache: BYPASS. */
  cache: FailOpenCache | null;
  /** Changes with the supergraph, so a new schema never serves responses shaped by an old one. */
  version: string;
  maxTtlSeconds: number;
  /** What browsers and CDNs are told (they cannot hear invalidations, so 0 by default: revalidate). */
  httpMaxAgeSeconds: number;
  requests: Counter<'layer' | 'result'>;
  setsRefused: Counter<'layer'>;
  /** Told the public key of every response answered publicly (the hit lane learns from it). */
  learn?: (requestContext: GraphQLRequestContext<C>, publicKey: string) => void;
}

export interface CachedHead {
  storedAt: number;
  maxAge: number;
  scope: 'PUBLIC' | 'PRIVATE';
}

/**
 * An entry is its head (one JSON line), then the response body exactly as Apollo writes it, so a
 * hit can be sent without parsing or printing the data again (hit-lane.ts). In every key, so a
 * replica running another format never reads these.
 */
const FORMAT = 'v2';

export function splitCached(text: string): { head: CachedHead; body: string } {
  const newline = text.indexOf('\n');
  return { head: JSON.parse(text.slice(0, newline)) as CachedHead, body: text.slice(newline + 1) };
}

function joinCached(head: CachedHead, data: unknown): string {
  // Apollo's own serialization of a data-only result (runHttpQuery's prettyJSONStringify).
  return `${JSON.stringify(head)}\n${JSON.stringify({ data })}\n`;
}

type Outcome = { result: 'BYPASS' } | { result: 'HIT'; head: CachedHead; keys: ScopeKeys } | { result: 'MISS'; readStartedAt: number; keys: ScopeKeys };

interface ScopeKeys {
  public: string;
  /** null for anonymous callers: their private responses are not cached. */
  private: string | null;
}

const printed = new WeakMap<DocumentNode, string>();

/** The same operation however it is spelled (whitespace, commas, comments). */
function normalized(document: DocumentNode): string {
  let text = printed.get(document);
  if (text === undefined) {
    text = print(document);
    printed.set(document, text);
  }
  return text;
}

/** JSON with object keys sorted, so {a,b} and {b,a} are the same variables. */
export function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
      .map((key) => `${JSON.stringify(key)}:${stableStringify((value as Record<string, unknown>)[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function privateScope(identity: Identity): string | null {
  switch (identity.kind) {
    case 'user':
      return `user:${identity.userId}:${identity.role}`;
    case 'partner':
      return `partner:${identity.clientId}`;
    default:
      return null;
  }
}

/** The variables the operation declares: extra ones change nothing, so they must not split (or flood) the cache. */
function declaredVariables(requestContext: GraphQLRequestContext<ResponseCacheContext>): Record<string, unknown> {
  const given = requestContext.request.variables ?? {};
  return Object.fromEntries((requestContext.operation?.variableDefinitions ?? []).map((definition) => [definition.variable.name.value, given[definition.variable.name.value]]));
}

function keysFor(requestContext: GraphQLRequestContext<ResponseCacheContext>, version: string): ScopeKeys {
  const operation = createHash('sha256')
    .update(normalized(requestContext.document as DocumentNode))
    .update('\0')
    .update(requestContext.request.operationName ?? '')
    .update('\0')
    .update(stableStringify(declaredVariables(requestContext)))
    .digest('base64url');
  const owner = privateScope(requestContext.contextValue.identity);
  return { public: `response:${FORMAT}:${version}:public:${operation}`, private: owner ? `response:${FORMAT}:${version}:${owner}:${operation}` : null };
}

export function responseCachePlugin<C extends ResponseCacheContext>(options: ResponseCacheOptions<C>): ApolloServerPlugin<C> {
  const { cache } = options;
  const count = (result: 'hit' | 'miss' | 'bypass') => options.requests.inc({ layer: 'response', result });
  return {
    async requestDidStart() {
      let outcome: Outcome = { result: 'BYPASS' };
      return {
        async responseForOperation(requestContext) {
          if (!cache || requestContext.operation?.operation !== 'query') return null;
          const keys = keysFor(requestContext, options.version);
          // One round trip: the clock (taken before any subgraph is asked) and both candidate keys.
          const [readStartedAt, values] = await Promise.all([cache.clock(), cache.get(keys.private ? [keys.public, keys.private] : [keys.public])]);
          if (values === null || readStartedAt === null) {
            count('bypass');
            return null;
          }
          const text = values.find((value) => value !== null);
          if (!text) {
            count('miss');
            outcome = { result: 'MISS', readStartedAt, keys };
            requestContext.contextValue.cacheReadStartedAt = readStartedAt;
            return null;
          }
          const { head, body } = splitCached(text);
          count('hit');
          outcome = { result: 'HIT', head, keys };
          requestContext.overallCachePolicy.replace({ maxAge: head.maxAge, scope: head.scope });
          const { data } = JSON.parse(body) as { data: Record<string, unknown> };
          return { http: { status: undefined, headers: new HeaderMap() }, body: { kind: 'single', singleResult: { data } } };
        },

        async willSendResponse(requestContext) {
          const { response } = requestContext;
          const headers = response.http.headers;
          headers.set('x-cache', outcome.result);
          const body = response.body.kind === 'single' ? response.body.singleResult : null;
          const clean = body !== null && !body.errors?.length && !requestContext.errors?.length && body.data != null;
          const policy = clean ? requestContext.overallCachePolicy.policyIfCacheable() : null;
          headers.set('cache-control', policy ? `${policy.scope.toLowerCase()}, max-age=${Math.min(policy.maxAge, options.httpMaxAgeSeconds)}, must-revalidate` : 'no-store');
          if (outcome.result === 'HIT') {
            headers.set('age', String(Math.max(0, Math.floor((Date.now() - outcome.head.storedAt) / 1000))));
            if (outcome.head.scope === 'PUBLIC') options.learn?.(requestContext, outcome.keys.public);
            return;
          }
          if (outcome.result !== 'MISS' || !cache || !policy || !body?.data || requestContext.contextValue.sharedExecution) return;
          const tags = requestContext.contextValue.cacheTags;
          // Untagged data could never be purged; it is not cached (a subgraph forgot to tag a read).
          if (tags.size === 0) return;
          const key = policy.scope === 'PUBLIC' ? outcome.keys.public : outcome.keys.private;
          if (!key) return;
          const maxAge = Math.min(policy.maxAge, options.maxTtlSeconds);
          const value = joinCached({ storedAt: Date.now(), maxAge, scope: policy.scope }, body.data);
          // Not awaited: the client need not wait for the write. The store refuses it if a tag was
          // purged after readStartedAt, however late it arrives.
          void cache.set({ key, value, ttlMs: maxAge * 1000, tags: [...tags], readStartedAt: outcome.readStartedAt }).then((stored) => {
            if (stored === false) options.setsRefused.inc({ layer: 'response' });
          });
          if (policy.scope === 'PUBLIC') options.learn?.(requestContext, key);
        },
      };
    },
  };
}
