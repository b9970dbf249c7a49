// Rate limits as a client meets them: per-client budgets at the gateway (429, Retry-After,
// RateLimit-* headers, one budget across replicas) and field limits in the subgraphs (free-text
// search per client), shared through Redis by every replica (whole replicas: field-limits.e2e.ts).
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { GraphQLError, GraphQLResolveInfo } from 'graphql';
import { fieldRateLimiter, redisFieldLimits } from '@commerce/subgraph-kit/field-rate-limit';
import { createMetrics, rateLimitedCounter, rateLimitFallbacksCounter } from '@commerce/platform/metrics';
import { closeRedisClient, createRedisClient } from '@commerce/platform/redis-client';
import { metricValue, startGraph, type TestGraph } from './support/graph.js';
import { dropPrefix } from '@commerce/harness/redis';
import { uniquePrefix } from './support/redis.js';

const template = inject('templateDatabase');
const redisUrl = inject('redisUrl');
const SEARCH = 'query Search($text: String!) { products(first: 1, filter: { search: $text }) { totalCount } }';

describe.skipIf(!template)('field limits in the subgraphs', () => {
  let graph: TestGraph;
  beforeAll(async () => {
    graph = await startGraph({ kind: 'postgres', template: template as string }, { env: { RATE_LIMIT_ENABLED: 'true' } });
  });
  afterAll(() => graph?.stop());

  it('the 61st search in a minute is RATE_LIMITED at its path; another client is unaffected; browsing is not limited', async () => {
    // A different text each time: cache hits never reach the subgraph, so they are not counted.
    const results = [];
    for (let i = 0; i < 61; i++) results.push(await graph.query(SEARCH, { text: `lamp ${i}` }));
    expect(results.slice(0, 60).every((r) => r.status === 200 && !r.errors)).toBe(true);
    const limited = results[60]!;
    expect(limited.status).toBe(200);
    expect(limited.data?.products ?? null).toBeNull();
    expect(limited.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    expect(limited.errors?.[0]?.path).toEqual(['products']);
    expect(limited.errors?.[0]?.message).toContain('Query.products allows 60 calls per 1m');
    const alice = await graph.as('alice@example.com');
    expect((await graph.query(SEARCH, { text: 'lamp' }, alice)).errors).toBeUndefined();
    expect((await graph.query('{ products(first: 2) { totalCount } }')).errors).toBeUndefined();
    expect(await metricValue(graph.subgraphUrls.products, 'rate_limited_total', { scope: 'field' })).toBe(1);
  });
});

describe.skipIf(!redisUrl)('the Redis field-limit store', () => {
  it('two replicas counting one client at once admit exactly the limit; the count expires with its window', async () => {
    // One connection per replica, as two processes have.
    const clients = [createRedisClient(redisUrl as string), createRedisClient(redisUrl as string)];
    try {
      for (const client of clients) for (let i = 0; i < 100 && !client.isReady; i++) await new Promise((resolve) => setTimeout(resolve, 20));
      const prefix = uniquePrefix('fieldlimit');
      const { registry } = createMetrics('test', { processMetrics: false });
      const [rateLimited, fallbacks] = [rateLimitedCounter(registry), rateLimitFallbacksCounter(registry)];
      const replicas = clients.map((client) => fieldRateLimiter({ store: redisFieldLimits(client, prefix), rateLimited, fallbacks, timeoutMs: 3000 }));
      const info = { parentType: { name: 'Mutation' }, fieldName: 'placeOrder' } as GraphQLResolveInfo;
      const identity = { kind: 'user', userId: 'u1', role: 'USER' } as const;
      const outcomes = await Promise.allSettled(Array.from({ length: 100 }, (_, i) => replicas[i % 2]!({ identity, info }, { max: 10, window: '1m' })));
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(10);
      expect(outcomes.filter((o) => o.status === 'rejected' && (o.reason as GraphQLError).extensions.code === 'RATE_LIMITED')).toHaveLength(90);
      expect((await fallbacks.get()).values[0]?.value).toBe(0);
      const key = `${prefix}:fieldlimit:Mutation.placeOrder:user:u1`;
      const ttl = await clients[0]!.pTTL(key);
      expect(ttl).toBeGreaterThan(55_000);
      expect(ttl).toBeLessThanOrEqual(60_000);
      await dropPrefix(redisUrl as string, prefix);
    } finally {
      for (const client of clients) await closeRedisClient(client);
    }
  });
});

const CHEAP = '{ products(first: 1) { totalCount } }';

describe.skipIf(!template || !redisUrl)('client budgets at the gateway', () => {
  let graph: TestGraph;
  beforeAll(async () => {
    // A small anonymous budget that barely refills, so the test can spend it exactly.
    graph = await startGraph({ kind: 'postgres', template: template as string }, { redisUrl: redisUrl as string, env: { RATE_LIMIT_ENABLED: 'true' }, gatewayEnv: { RATE_LIMIT_ANONYMOUS: '40,0.01' } });
  });
  afterAll(() => graph?.stop());

  it('an anonymous client over its budget gets 429 with Retry-After and the cost; a signed-in client is unaffected', async () => {
    const first = await graph.query(CHEAP);
    expect(first.status).toBe(200);
    expect(first.headers.get('ratelimit-limit')).toBe('40');
    const cost = 40 - Number(first.headers.get('ratelimit-remaining'));
    expect(cost).toBeGreaterThan(0);
    let refused;
    for (let i = 0; i < 100 && !refused; i++) {
      const response = await graph.query(CHEAP);
      if (response.status === 429) refused = response;
    }
    expect(refused).toBeDefined();
    expect(Number(refused!.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(refused!.headers.get('ratelimit-remaining')).toBe(String(40 % cost === 0 ? 0 : 40 % cost));
    const error = refused!.errors?.[0];
    expect(error?.extensions).toMatchObject({ code: 'RATE_LIMITED', cost, budget: { capacity: 40, refillPerSecond: 0.01 } });
    expect(refused!.data ?? null).toBeNull();
    const alice = await graph.as('alice@example.com');
    const signedIn = await graph.query(CHEAP, undefined, alice);
    expect(signedIn.status).toBe(200);
    expect(signedIn.headers.get('ratelimit-limit')).toBe('10000');
    expect(await metricValue(graph.gatewayUrl, 'rate_limited_total', { scope: 'client_budget' })).toBeGreaterThan(0);
  });

  it('refusals are charged: a client flooding refused documents runs out of budget, then waits for its 429; others are unaffected', async () => {
    const env = { RATE_LIMIT_ANONYMOUS: '100,0.01', RATE_LIMIT_REFUSAL_COST: '25', TRUST_PROXY_HOPS: '1', CACHE_TIMEOUT_MS: '3000' };
    const gateway = await graph.startGateway(env);
    const flooder = { 'x-forwarded-for': '203.0.113.60' };
    const fanout = `{ ...F30 } fragment F0 on Query { __typename } ${Array.from({ length: 30 }, (_, i) => `fragment F${i + 1} on Query { ...F${i} ...F${i} }`).join(' ')}`;
    // Each way a document is refused before execution: a static limit, a parse error, a validation
    // error, a cost over the maximum. Each takes 25 of the 100.
    const refused = [
      [fanout, 400, 'QUERY_LIMIT_EXCEEDED'],
      ['{ products(first: ', 400, 'GRAPHQL_PARSE_FAILED'],
      ['{ nothingHere }', 400, 'GRAPHQL_VALIDATION_FAILED'],
      ['{ users(first: 100) { edges { node { orders(first: 100) { edges { node { items { product { id } } } } } } } } }', 400, 'QUERY_LIMIT_EXCEEDED'],
    ] as const;
    for (const [query, status, code] of refused) {
      const answer = await gateway.query(query, undefined, flooder);
      expect([answer.status, answer.errors?.[0]?.extensions?.code]).toEqual([status, code]);
    }
    // The budget is spent: the next refusal is RATE_LIMITED, answered only after a hold.
    const started = Date.now();
    const limited = await gateway.query(fanout, undefined, flooder);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.errors?.[0]?.extensions).toMatchObject({ code: 'RATE_LIMITED', cost: 25 });
    const limitedParse = await gateway.query('{ x', undefined, flooder);
    expect([limitedParse.status, limitedParse.errors?.[0]?.extensions?.code]).toEqual([429, 'RATE_LIMITED']);
    // Its valid requests are over budget too; another client is not.
    expect((await gateway.query(CHEAP, undefined, flooder)).status).toBe(429);
    const other = await gateway.query(CHEAP, undefined, { 'x-forwarded-for': '203.0.113.61' });
    expect(other.status).toBe(200);
    expect(await metricValue(gateway.url, 'query_limit_rejections_total', { limit: 'expandedFields' })).toBeGreaterThanOrEqual(2);
  });

  it('two gateway replicas on one Redis admit one budget between them, not two', async () => {
    // Another anonymous client: the tests run from one address, so a proxy hop names it.
    const viaProxy = { 'x-forwarded-for': '203.0.113.50' };
    // A loaded CI machine once kept Redis past the 100 ms budget timeout, so one replica decided
    // alone (fail-open, by design) and admitted one extra: give Redis time here, and check below
    // that every decision was the shared one.
    const env = { RATE_LIMIT_ANONYMOUS: '40,0.01', TRUST_PROXY_HOPS: '1', CACHE_TIMEOUT_MS: '3000' };
    const a = await graph.startGateway(env);
    const b = await graph.startGateway(env);
    const probe = await a.query(CHEAP, undefined, viaProxy);
    const cost = 40 - Number(probe.headers.get('ratelimit-remaining'));
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).query(CHEAP, undefined, viaProxy)));
    const admitted = 1 + answers.filter((r) => r.status === 200).length;
    expect(admitted).toBe(Math.floor(40 / cost));
    expect(answers.filter((r) => r.status === 429).length).toBe(40 - (admitted - 1));
    for (const replica of [a, b]) expect(await metricValue(replica.url, 'rate_limit_fallbacks_total')).toBe(0);
  });
});
