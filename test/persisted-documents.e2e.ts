// Persisted documents as mobile clients use them: APQ shared by every gateway replica through
// Redis (and failing open when Redis is gone), the trusted documents of
// clients/persisted-query-manifest.json sent by id alone in every mode, require mode's refusals,
// and GET by id with the same caching headers, ETag and 304 as a GET with text. Real PostgreSQL,
// real Redis (a redis-server of the test's own for the outage), real HTTP between services.
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { generateSeed } from '@commerce/db/seed-data';
import { withRedis } from '@commerce/harness/redis';
import { startGraph, type GraphQLResponse, type TestGraph } from './support/graph.js';
import { type OwnRedis, ownRedis, uniquePrefix } from './support/redis.js';

const template = inject('templateDatabase');
const redisUrl = inject('redisUrl');

interface ManifestOperation {
  id: string;
  name: string;
  type: 'query' | 'mutation';
  body: string;
}
const manifest = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'clients', 'persisted-query-manifest.json'), 'utf8')) as { operations: ManifestOperation[] };
const listed = (name: string): ManifestOperation => {
  const operation = manifest.operations.find((candidate) => candidate.name === name);
  if (!operation) throw new Error(`${name} is not in clients/persisted-query-manifest.json`);
  return operation;
};
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const seed = generateSeed();
const product = seed.products.find((candidate) => candidate.stock > 50)!;

type Gateway = { url: string };

/** One POST with whatever body the test gives (an id alone, text and id, text alone). */
async function post(gateway: Gateway, body: Record<string, unknown>, headers: Record<string, string> = {}): Promise<GraphQLResponse> {
  const response = await fetch(gateway.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const json = (await response.json()) as Omit<GraphQLResponse, 'status' | 'headers'>;
  return { status: response.status, headers: response.headers, ...json };
}
const byId = (id: string, variables?: Record<string, unknown>) => ({ variables, extensions: { persistedQuery: { version: 1, sha256Hash: id } } });
const code = (response: GraphQLResponse) => response.errors?.[0]?.extensions?.code;

/** A GET through node:http (fetch adds `cache-control: no-cache` to conditional requests). */
function httpGet(url: string, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, { headers }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode as number, headers: res.headers, body }));
    }).on('error', reject);
  });
}
const getUrl = (gateway: Gateway, id: string, variables?: Record<string, unknown>) =>
  `${gateway.url}?extensions=${encodeURIComponent(JSON.stringify({ persistedQuery: { version: 1, sha256Hash: id } }))}${variables ? `&variables=${encodeURIComponent(JSON.stringify(variables))}` : ''}`;
/** What Apollo's CSRF prevention asks of a GET; clients send their operation's name. */
const PREFLIGHT = { 'x-apollo-operation-name': 'Catalog' };

describe.skipIf(!template || !redisUrl)('persisted documents', () => {
  let graph: TestGraph;
  let replicaB: Gateway;
  let alice: Record<string, string>;
  beforeAll(async () => {
    graph = await startGraph({ kind: 'postgres', template: template as string }, { redisUrl: redisUrl as string });
    replicaB = await graph.startGateway();
    alice = await graph.as('alice@example.com');
  });
  afterAll(() => graph?.stop());
  const replicaA = (): Gateway => ({ url: graph.gatewayUrl });

  it('a document registered by hash on replica A runs by hash alone on replica B (APQ in Redis, under CACHE_PREFIX:apq:)', async () => {
    const query = `query Apq_${randomUUID().replaceAll('-', '')} { products(first: 2) { totalCount edges { node { id } } } }`;
    const hash = sha256(query);
    const unknown = await post(replicaB, byId(hash));
    expect(code(unknown)).toBe('PERSISTED_QUERY_NOT_FOUND');
    const registered = await post(replicaA(), { query, ...byId(hash) });
    expect(registered.errors).toBeUndefined();
    expect(registered.data?.products.totalCount).toBeGreaterThan(0);
    // Apollo stores the registration without making the client wait for it.
    const onB = await vi.waitFor(
      async () => {
        const response = await post(replicaB, byId(hash));
        expect(response.errors).toBeUndefined();
        return response;
      },
      { timeout: 5000, interval: 25 },
    );
    expect(onB.data).toEqual(registered.data);
    const ttl = await withRedis(redisUrl as string, 2000, (client) => client.pTTL(`${graph.redisPrefix}:apq:${hash}`));
    // Stored under the graph's prefix, with a TTL (so volatile-lru can evict it): about 24 h.
    expect(ttl).toBeGreaterThan(86_000_000);
    expect(ttl).toBeLessThanOrEqual(86_400_000);
  });

  it('every listed operation runs by id alone (no query text), with data and no errors', async () => {
    const calls: Record<string, { variables?: Record<string, unknown>; headers?: Record<string, string>; check: (data: Record<string, any>) => void }> = {
      Catalog: { variables: { first: 5 }, check: (data) => expect(data.products.edges).toHaveLength(5) },
      ProductPage: { variables: { id: product.id }, check: (data) => expect(data.product).toMatchObject({ id: product.id, sku: product.sku, name: product.name }) },
      MyOrders: { headers: alice, check: (data) => expect(data.me.orders.totalCount).toBeGreaterThanOrEqual(0) },
      PlaceOrder: {
        variables: { input: { items: [{ productId: product.id, quantity: 1 }], idempotencyKey: randomUUID() } },
        headers: alice,
        check: (data) => {
          expect(data.placeOrder.userErrors).toEqual([]);
          expect(['CONFIRMED', 'PENDING']).toContain(data.placeOrder.order.status);
        },
      },
    };
    // A new listed operation must be added above, or this fails.
    expect(manifest.operations.map((operation) => operation.name).sort()).toEqual(Object.keys(calls).sort());
    for (const operation of manifest.operations) {
      const call = calls[operation.name]!;
      const response = await post(replicaA(), byId(operation.id, call.variables), call.headers);
      expect(response.errors, operation.name).toBeUndefined();
      call.check(response.data!);
    }
  });

  it('a listed id repeated by an anonymous client is answered by the hit lane, as a repeated text is; an APQ hash never is', async () => {
    const lane = (response: GraphQLResponse) => (response.headers.get('server-timing') ?? '').includes('lane');
    const catalog = byId(listed('Catalog').id, { first: 6 });
    const fromLane = await vi.waitFor(
      async () => {
        const response = await post(replicaB, catalog);
        expect(lane(response)).toBe(true);
        return response;
      },
      { timeout: 5000, interval: 25 },
    );
    expect(fromLane.headers.get('x-cache')).toBe('HIT');
    expect(fromLane.data?.products.edges).toHaveLength(6);
    const query = `query Lane_${randomUUID().replaceAll('-', '')} { products(first: 1) { totalCount } }`;
    await post(replicaB, { query, ...byId(sha256(query)) });
    for (let i = 0; i < 5; i++) {
      const response = await post(replicaB, byId(sha256(query)));
      expect(response.errors).toBeUndefined();
      expect(lane(response)).toBe(false);
    }
  });

  it('allow (the default): other documents still run; off: a listed id with no text is PERSISTED_QUERY_NOT_FOUND', async () => {
    const other = await post(replicaA(), { query: '{ products(first: 1) { totalCount } }' });
    expect(other.errors).toBeUndefined();
    const off = await graph.startGateway({ PERSISTED_DOCUMENTS: 'off' });
    const catalog = listed('Catalog');
    const notFound = await post(off, byId(catalog.id, { first: 2 }));
    expect(code(notFound)).toBe('PERSISTED_QUERY_NOT_FOUND');
    // ...unless APQ has it: the client registers it as any APQ client would.
    expect((await post(off, { query: catalog.body, ...byId(catalog.id, { first: 2 }) })).errors).toBeUndefined();
    await vi.waitFor(async () => expect((await post(off, byId(catalog.id, { first: 2 }))).errors).toBeUndefined(), { timeout: 5000, interval: 25 });
  });

  describe('require mode', () => {
    let strict: Gateway;
    beforeAll(async () => {
      strict = await graph.startGateway({ PERSISTED_DOCUMENTS: 'require' });
    });

    it('an unlisted document is HTTP 400 PERSISTED_QUERY_NOT_IN_LIST; a listed one runs by id, or as its exact text', async () => {
      const unlisted = await post(strict, { query: '{ products(first: 1) { totalCount } }' });
      expect(unlisted.status).toBe(400);
      expect(code(unlisted)).toBe('PERSISTED_QUERY_NOT_IN_LIST');
      expect(unlisted.data).toBeUndefined();
      const catalog = listed('Catalog');
      const runs = await post(strict, byId(catalog.id, { first: 3 }));
      expect(runs.status).toBe(200);
      expect(runs.errors).toBeUndefined();
      expect(runs.data?.products.edges).toHaveLength(3);
      const asText = await post(strict, { query: catalog.body, variables: { first: 3 } });
      expect(asText.errors).toBeUndefined();
      expect(asText.data).toEqual(runs.data);
    });

    it('APQ is refused with the same code: a registration, and then its hash alone, and any unknown hash', async () => {
      const query = `query Sneaky_${randomUUID().replaceAll('-', '')} { users(first: 50) { edges { node { email } } } }`;
      const hash = sha256(query);
      const registration = await post(strict, { query, ...byId(hash) });
      expect(registration.status).toBe(400);
      expect(code(registration)).toBe('PERSISTED_QUERY_NOT_IN_LIST');
      const lookup = await post(strict, byId(hash));
      expect(lookup.status).toBe(400);
      expect(code(lookup)).toBe('PERSISTED_QUERY_NOT_IN_LIST');
      // Not stored anywhere: another gateway on the same Redis does not know it either.
      expect(code(await post(replicaB, byId(hash)))).toBe('PERSISTED_QUERY_NOT_FOUND');
      const malformed = await post(strict, byId({ not: 'a hash' } as unknown as string));
      expect(malformed.status).toBe(400);
      expect(code(malformed)).toBe('PERSISTED_QUERY_NOT_IN_LIST');
    });

    it("refusals are charged to the client's budget like a limit refusal: past it, 429 RATE_LIMITED with Retry-After", async () => {
      const budgeted = await graph.startGateway({ PERSISTED_DOCUMENTS: 'require', RATE_LIMIT_ENABLED: 'true', RATE_LIMIT_ANONYMOUS: '30,0.01', RATE_LIMIT_REFUSAL_COST: '10' });
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await post(budgeted, { query: `{ products(first: ${i + 1}) { totalCount } }` })).status);
      expect(statuses).toEqual([400, 400, 400, 429]);
      const limited = await post(budgeted, { query: '{ products(first: 9) { totalCount } }' });
      expect(code(limited)).toBe('RATE_LIMITED');
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    });

    it('GET by id answers with the caching headers and an ETag, then 304 for If-None-Match; a mutation by GET stays refused', async () => {
      const url = getUrl(strict, listed('Catalog').id, { first: 4 });
      const first = await httpGet(url, PREFLIGHT);
      expect(first.status).toBe(200);
      expect(JSON.parse(first.body).data.products.edges).toHaveLength(4);
      expect(first.headers['cache-control']).toBe('public, max-age=0, must-revalidate');
      const etag = first.headers.etag as string;
      expect(etag).toBeTruthy();
      const again = await httpGet(url, { ...PREFLIGHT, 'if-none-match': etag });
      expect(again.status).toBe(304);
      expect(again.body).toBe('');
      // The same headers as a GET with the text (the caching the issue asks to keep).
      const withText = await httpGet(`${strict.url}?query=${encodeURIComponent(listed('Catalog').body)}&variables=${encodeURIComponent('{"first":4}')}`, PREFLIGHT);
      expect(withText.status).toBe(200);
      expect(withText.headers['cache-control']).toBe(first.headers['cache-control']);
      expect(withText.headers.etag).toBe(etag);
      const mutation = await httpGet(getUrl(strict, listed('PlaceOrder').id, { input: { items: [{ productId: product.id, quantity: 1 }], idempotencyKey: randomUUID() } }), { ...PREFLIGHT, ...alice });
      expect(mutation.status).toBe(405);
      // An unlisted document by GET is refused as by POST.
      const unlisted = await httpGet(`${strict.url}?query=${encodeURIComponent('{ products(first: 1) { totalCount } }')}`, PREFLIGHT);
      expect(unlisted.status).toBe(400);
      expect(JSON.parse(unlisted.body).errors[0].extensions.code).toBe('PERSISTED_QUERY_NOT_IN_LIST');
    });
  });

  describe('Redis down', () => {
    let redis: OwnRedis;
    let gateway: Gateway;
    beforeAll(async () => {
      redis = await ownRedis();
      gateway = await graph.startGateway({ REDIS_URL: redis.url, CACHE_PREFIX: uniquePrefix('apq-down') });
    });
    afterAll(() => redis?.stop());

    it('APQ fails open: the full document still runs, a hash alone is PERSISTED_QUERY_NOT_FOUND (never a 500), listed ids still run', async () => {
      const query = `query Down_${randomUUID().replaceAll('-', '')} { products(first: 2) { totalCount } }`;
      const hash = sha256(query);
      expect((await post(gateway, { query, ...byId(hash) })).errors).toBeUndefined();
      await vi.waitFor(async () => expect((await post(gateway, byId(hash))).errors).toBeUndefined(), { timeout: 5000, interval: 25 });
      await redis.kill();
      const started = performance.now();
      const lookup = await post(gateway, byId(hash));
      expect(lookup.status).toBe(200);
      expect(code(lookup)).toBe('PERSISTED_QUERY_NOT_FOUND');
      const full = await post(gateway, { query, ...byId(hash) });
      expect(full.status).toBe(200);
      expect(full.errors).toBeUndefined();
      expect(full.data?.products.totalCount).toBeGreaterThan(0);
      expect(performance.now() - started).toBeLessThan(2000);
      const catalog = await post(gateway, byId(listed('Catalog').id, { first: 1 }));
      expect(catalog.errors).toBeUndefined();
      const ready = (await (await fetch(gateway.url.replace('/graphql', '/ready'))).json()) as { ready: boolean; checks: { persistedQueries: string } };
      expect(ready.ready).toBe(true);
      expect(ready.checks.persistedQueries).toMatch(/unreachable|bypassing/);
      // Back: registrations are kept and found again.
      await redis.start();
      await vi.waitFor(
        async () => {
          await post(gateway, { query, ...byId(hash) });
          expect((await post(gateway, byId(hash))).errors).toBeUndefined();
        },
        { timeout: 10_000, interval: 200 },
      );
    });
  });
});
