// Read replicas without stale reads (ADR 0005), on a primary and a streaming replica of the test's
// own that replays 300 ms late: writes through one gateway and its subgraphs, reads through another
// gateway and other processes of every subgraph (sharing only Redis and the databases), lists
// included: no read after an acknowledged write returns the old value, yet a read-only load runs on
// the replica, and the replica going away mid-load fails no request.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { seededDatabase } from '@commerce/harness/postgres';
import type { ReplicaCluster } from '@commerce/harness/replica-cluster';
import { metricSum, postGraphQL, startGraph, type GraphQLResponse, type SubgraphName, type TestGraph } from './support/graph.js';
import { replicaClusterOrSkip } from './support/replicas.js';

const redisUrl = inject('redisUrl');
const APPLY_DELAY_MS = 300;
const ROUNDS = Number(process.env.REPLICA_ROUNDS ?? 1000);
const WORKERS = 4;
const SUBGRAPHS: SubgraphName[] = ['users', 'products', 'orders'];

const PRODUCT = 'query Product($id: ID!) { product(id: $id) { id price { amount } stock } }';
const PRODUCTS = 'query Products { products(first: 60) { edges { node { id price { amount } stock } } } }';
const UPDATE_PRODUCT = 'mutation Update($id: ID!, $input: UpdateProductInput!) { updateProduct(id: $id, input: $input) { product { id } userErrors { code } } }';
const ME = 'query Me { me { id name orders(first: 5) { totalCount edges { node { id status } } } } }';
const USERS = 'query Users { users(first: 30) { edges { node { id name } } } }';
const UPDATE_ME = 'mutation UpdateMe($input: UpdateMeInput!) { updateMe(input: $input) { user { id name } userErrors { code } } }';
const PLACE = 'mutation Place($input: PlaceOrderInput!) { placeOrder(input: $input) { order { id status } userErrors { code message } } }';

/** One set of processes: a gateway and its own users, products and orders. */
interface Side {
  query: <T = Record<string, any>>(query: string, variables?: Record<string, unknown>, headers?: Record<string, string>) => Promise<GraphQLResponse<T>>;
  gatewayUrl: string;
  subgraphUrls: Record<SubgraphName, string>;
}

/** sql_statements_total over a side's three subgraphs. */
async function statements(side: Side, labels: Record<string, string>): Promise<number> {
  return (await Promise.all(SUBGRAPHS.map((name) => metricSum(side.subgraphUrls[name], 'sql_statements_total', labels)))).reduce((a, b) => a + b, 0);
}
async function fallbacks(side: Side): Promise<Record<string, number>> {
  const reasons = ['down', 'lagging', 'unreplayed_write', 'positions_unknown', 'replica_error'];
  const out: Record<string, number> = {};
  for (const reason of reasons) out[reason] = (await Promise.all(SUBGRAPHS.map((name) => metricSum(side.subgraphUrls[name], 'db_replica_fallbacks_total', { reason })))).reduce((a, b) => a + b, 0);
  return out;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;
const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))] ?? NaN;

const cluster: ReplicaCluster | null = redisUrl ? await replicaClusterOrSkip(APPLY_DELAY_MS) : null;
if (!redisUrl) console.warn('SKIPPING replica tests: Redis is not running (write positions are shared through it)');

describe.skipIf(!cluster)('read replicas: a streaming replica 300 ms behind, read-your-writes kept', () => {
  let graph: TestGraph;
  let drop: () => Promise<void>;
  /** Writes: the graph's first gateway and subgraphs (cache on). */
  let writer: Side;
  /** Reads after writes: another gateway, on other processes of every subgraph (cache on). */
  let reader: Side;
  /** A read-only load without caches, with replicas ... */
  let load: Side;
  /** ... and the same without replicas (the primary-only shape), for the latency comparison. */
  let primaryOnly: Side;
  let admin: Record<string, string>;

  /** Another gateway on new processes of all three subgraphs (env adds to the graph's). */
  const side = async (env: Record<string, string>): Promise<Side> => {
    const subgraphUrls = {} as Record<SubgraphName, string>;
    for (const name of SUBGRAPHS) subgraphUrls[name] = (await graph.startReplica(name, env)).url;
    const gateway = await graph.startGateway(env, subgraphUrls);
    return { query: gateway.query, gatewayUrl: gateway.url, subgraphUrls };
  };

  beforeAll(async () => {
    const c = cluster as ReplicaCluster;
    const database = await seededDatabase('replicas', c.primaryUrl);
    drop = database.drop;
    await c.caughtUp();
    const replicaUrl = c.replicaDatabaseUrl(database.name);
    graph = await startGraph({ kind: 'postgres', url: database.url }, { redisUrl: redisUrl as string, env: { DATABASE_REPLICA_URL: replicaUrl, PLACE_ORDER_WAIT_MS: '300' } });
    writer = { query: graph.query, gatewayUrl: graph.gatewayUrl, subgraphUrls: graph.subgraphUrls };
    reader = await side({});
    load = await side({ CACHE_ENABLED: 'false' });
    primaryOnly = await side({ CACHE_ENABLED: 'false', DATABASE_REPLICA_URL: '' });
    admin = await graph.as('admin@example.com');
  }, 180_000);

  afterAll(async () => {
    await graph?.stop();
    await drop?.().catch(() => {});
    await cluster?.stop();
  }, 60_000);

  it(`${ROUNDS} rounds of a write through one gateway and a read through another: no stale read, lists included`, async () => {
    const products = ((await writer.query(PRODUCTS)).data?.products.edges as Array<{ node: { id: string } }>).map((edge) => edge.node.id);
    const listed = await writer.query(USERS, {}, admin);
    expect(listed.errors).toBeUndefined();
    const users = (listed.data?.users.edges as Array<{ node: { id: string; name: string } }>).slice(1).map((edge) => edge.node); // not the admin
    const emails = new Map<string, string>();
    for (const row of (await import('@commerce/db/seed-data')).generateSeed().users) emails.set(row.id, row.email);
    const stale: string[] = [];
    const failed: string[] = [];
    let round = 0;
    const before = { replica: await statements(reader, { source: 'request', target: 'replica' }), primary: await statements(reader, { source: 'request', target: 'primary' }), fallbacks: await fallbacks(reader) };
    const started = performance.now();

    const worker = async (w: number) => {
      // Each worker has entities of its own, so what it reads can only be what it wrote last.
      const mine = products.filter((_, i) => i % WORKERS === w);
      const people = users.filter((_, i) => i % WORKERS === w);
      for (let n = 0; ; n++) {
        const r = round++;
        if (r >= ROUNDS) return;
        const kind = r % 4;
        const check = (ok: boolean, what: string) => void (ok || stale.push(`round ${r}: ${what}`));
        const answered = (response: GraphQLResponse, what: string) => {
          if (response.errors || response.status !== 200) failed.push(`round ${r} ${what}: ${JSON.stringify(response.errors ?? response.status)}`);
          return response.data;
        };
        if (kind === 0 || kind === 1) {
          // A price change (purges the product and every list), or a stock-only change (purges the
          // product and the lists filtered by stock, not the plain list: the list's rows decide).
          const id = mine[n % mine.length] as string;
          const input = kind === 0 ? { price: `${10 + (r % 900)}.${String(r % 100).padStart(2, '0')}` } : { stock: 10_000 + r };
          answered(await writer.query(UPDATE_PRODUCT, { id, input }, admin), 'updateProduct');
          const [one, list] = await Promise.all([reader.query(PRODUCT, { id }), reader.query(PRODUCTS)]);
          const product = answered(one, 'product')?.product;
          const row = (answered(list, 'products')?.products.edges as Array<{ node: any }> | undefined)?.find((edge) => edge.node.id === id)?.node;
          if (kind === 0) {
            check(product?.price.amount === input.price, `product ${id} price ${product?.price.amount}, wrote ${input.price}`);
            check(row?.price.amount === input.price, `products list row ${id} price ${row?.price.amount}, wrote ${input.price}`);
          } else {
            check(product?.stock === input.stock, `product ${id} stock ${product?.stock}, wrote ${input.stock}`);
            check(row?.stock === input.stock, `products list row ${id} stock ${row?.stock}, wrote ${input.stock}`);
          }
        } else if (kind === 2) {
          const user = people[n % people.length] as { id: string };
          const as = await graph.as(emails.get(user.id) as string);
          const name = `Reader check ${r}`;
          answered(await writer.query(UPDATE_ME, { input: { name } }, as), 'updateMe');
          const [me, list] = await Promise.all([reader.query(ME, {}, as), reader.query(USERS, {}, admin)]);
          check(answered(me, 'me')?.me?.name === name, `me ${user.id} name ${answered(me, 'me')?.me?.name}, wrote ${name}`);
          const row = (answered(list, 'users')?.users.edges as Array<{ node: any }> | undefined)?.find((edge) => edge.node.id === user.id)?.node;
          check(row?.name === name, `users list row ${user.id} name ${row?.name}, wrote ${name}`);
        } else {
          const user = people[n % people.length] as { id: string };
          const as = await graph.as(emails.get(user.id) as string);
          const earlier = answered(await reader.query(ME, {}, as), 'me before')?.me?.orders.totalCount as number;
          const placed = answered(await writer.query(PLACE, { input: { idempotencyKey: `replicas-${r}`, items: [{ productId: mine[0], quantity: 1 }] } }, as), 'placeOrder')?.placeOrder.order;
          const me = answered(await reader.query(ME, {}, as), 'me after')?.me;
          const newest = me?.orders.edges[0]?.node;
          check(newest?.id === placed?.id, `orders list of ${user.id}: newest ${newest?.id}, placed ${placed?.id}`);
          check(me?.orders.totalCount === earlier + 1, `orders totalCount of ${user.id}: ${me?.orders.totalCount}, was ${earlier}`);
          // Decided before the answer: a later read never shows it PENDING again.
          if (placed?.status !== 'PENDING') check(newest?.status === placed?.status, `order ${placed?.id} status ${newest?.status}, answered ${placed?.status}`);
        }
      }
    };
    await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
    const seconds = (performance.now() - started) / 1000;
    const after = { replica: await statements(reader, { source: 'request', target: 'replica' }), primary: await statements(reader, { source: 'request', target: 'primary' }), fallbacks: await fallbacks(reader) };
    const onReplica = after.replica - before.replica;
    const onPrimary = after.primary - before.primary;
    const fallbackDelta = Object.fromEntries(Object.entries(after.fallbacks).map(([reason, count]) => [reason, count - (before.fallbacks[reason] ?? 0)]));
    console.log(`[replicas] ${ROUNDS} write-then-read rounds in ${seconds.toFixed(1)} s (${WORKERS} at a time): ${stale.length} stale reads, ${failed.length} failed requests; the reading side's statements: ${onReplica} on the replica, ${onPrimary} on the primary; fallbacks ${JSON.stringify(fallbackDelta)}`);
    expect(failed).toEqual([]);
    expect(stale).toEqual([]);
    // Most reads right after a write concern what was just written, and go to the primary; the rest
    // (other lists, other users) may use the replica, so both are exercised.
    expect(fallbackDelta.unreplayed_write).toBeGreaterThan(0);
    expect(onReplica).toBeGreaterThan(0);
  }, 600_000);

  /** A read-only mix: entities, lists, counts, a user's orders with their lines and products. */
  const readMix = async (side: Side, tokens: Array<Record<string, string>>, products: string[], i: number): Promise<GraphQLResponse> => {
    switch (i % 4) {
      case 0:
        return side.query(PRODUCT, { id: products[i % products.length] });
      case 1:
        return side.query('query List($first: Int) { products(first: $first) { totalCount edges { node { id name price { amount } } } } }', { first: 5 + (i % 20) });
      case 2:
        return side.query('query Orders { me { name orders(first: 3) { totalCount edges { node { id status items { quantity product { id name } } } } } } }', {}, tokens[i % tokens.length]);
      default:
        return side.query('query Users($first: Int) { users(first: $first) { totalCount edges { node { id name } } } }', { first: 3 + (i % 10) }, admin);
    }
  };

  it('a read-only load runs at least 80 % of its statements on the replica; the latency per read is measured against the primary-only shape', async () => {
    const products = ((await load.query(PRODUCTS)).data?.products.edges as Array<{ node: { id: string } }>).map((edge) => edge.node.id);
    const tokens = await Promise.all(['alice@example.com', 'bob@example.com', 'user0001@example.com', 'user0002@example.com'].map((email) => graph.as(email)));
    // Past the last write's replay, so the share reflects a read-only load.
    await (cluster as ReplicaCluster).caughtUp();
    await sleep(1200); // a lag measurement after the replica has caught up
    const before = { replica: await statements(load, { source: 'request', target: 'replica' }), primary: await statements(load, { source: 'request', target: 'primary' }) };
    const latency = { replica: [] as number[], primary: [] as number[] };
    const errors: unknown[] = [];
    // The two shapes interleaved, one request at a time, on the same machine in the same minute.
    for (let i = 0; i < 800; i++) {
      for (const [name, target] of (i % 2 === 0 ? [['replica', load], ['primary', primaryOnly]] : [['primary', primaryOnly], ['replica', load]]) as Array<['replica' | 'primary', Side]>) {
        const started = performance.now();
        const response = await readMix(target, tokens, products, i);
        latency[name].push(performance.now() - started);
        if (response.errors || response.status !== 200) errors.push(response.errors ?? response.status);
      }
    }
    const onReplica = (await statements(load, { source: 'request', target: 'replica' })) - before.replica;
    const onPrimary = (await statements(load, { source: 'request', target: 'primary' })) - before.primary;
    const share = onReplica / (onReplica + onPrimary);
    // One statement per request, straight at the products subgraph (no gateway, no other hop): the
    // routing and its check alone.
    const direct = { replica: [] as number[], primary: [] as number[] };
    for (let i = 0; i < 1000; i++) {
      for (const [name, target] of (i % 2 === 0 ? [['replica', load], ['primary', primaryOnly]] : [['primary', primaryOnly], ['replica', load]]) as Array<['replica' | 'primary', Side]>) {
        const started = performance.now();
        const response = await postGraphQL(target.subgraphUrls.products, PRODUCT, { id: products[i % products.length] });
        direct[name].push(performance.now() - started);
        if (response.errors || response.status !== 200) errors.push(response.errors ?? response.status);
      }
    }
    const added = median(latency.replica) - median(latency.primary);
    console.log(
      `[replicas] read-only load: ${onReplica} of ${onReplica + onPrimary} request statements on the replica (${(share * 100).toFixed(1)} %); ` +
        `latency per read with replicas median ${median(latency.replica).toFixed(2)} ms p95 ${percentile(latency.replica, 0.95).toFixed(2)} ms, ` +
        `primary only median ${median(latency.primary).toFixed(2)} ms p95 ${percentile(latency.primary, 0.95).toFixed(2)} ms: added ${added.toFixed(2)} ms per read (median); ` +
        `product(id) straight at the products subgraph: with replicas median ${median(direct.replica).toFixed(2)} ms p95 ${percentile(direct.replica, 0.95).toFixed(2)} ms, ` +
        `primary only median ${median(direct.primary).toFixed(2)} ms p95 ${percentile(direct.primary, 0.95).toFixed(2)} ms: added ${(median(direct.replica) - median(direct.primary)).toFixed(2)} ms (median)`,
    );
    expect(errors).toEqual([]);
    expect(share).toBeGreaterThanOrEqual(0.8);
  }, 300_000);

  it('counts what the bookkeeping costs per write: statements of one product update with and without replicas', async () => {
    const products = ((await load.query(PRODUCTS)).data?.products.edges as Array<{ node: { id: string } }>).map((edge) => edge.node.id);
    const N = 100;
    const cost = async (side: Side) => {
      const before = await metricSum(side.subgraphUrls.products, 'sql_statements_total', { source: 'request' });
      for (let i = 0; i < N; i++) {
        const response = await side.query(UPDATE_PRODUCT, { id: products[i % products.length], input: { stock: 20_000 + i } }, admin);
        expect(response.errors).toBeUndefined();
      }
      return ((await metricSum(side.subgraphUrls.products, 'sql_statements_total', { source: 'request' })) - before) / N;
    };
    const withReplicas = await cost(load);
    const without = await cost(primaryOnly);
    console.log(`[replicas] statements per updateProduct: ${withReplicas.toFixed(2)} with replicas, ${without.toFixed(2)} primary only: ${(withReplicas - without).toFixed(2)} for the write position`);
    expect(withReplicas - without).toBeLessThanOrEqual(1);
  }, 120_000);

  it('the replica stopped mid-load fails no request; reads go back to it once it returns', async () => {
    const c = cluster as ReplicaCluster;
    const products = ((await load.query(PRODUCTS)).data?.products.edges as Array<{ node: { id: string } }>).map((edge) => edge.node.id);
    const tokens = await Promise.all(['alice@example.com', 'bob@example.com'].map((email) => graph.as(email)));
    const onReplica = () => statements(load, { source: 'request', target: 'replica' });
    const failures: unknown[] = [];
    let sent = 0;
    let running = true;
    const loop = async (w: number) => {
      for (let i = w; running; i += 4) {
        const response = await readMix(load, tokens, products, i).catch((error: unknown) => ({ status: 0, errors: [String(error)] }) as unknown as GraphQLResponse);
        sent++;
        if (response.errors || response.status !== 200) failures.push(response.errors ?? response.status);
      }
    };
    const loops = Array.from({ length: 4 }, (_, w) => loop(w));
    try {
      await sleep(1000);
      const beforeStop = await onReplica();
      expect(beforeStop).toBeGreaterThan(0);
      await c.stopReplica();
      const stoppedAt = Date.now();
      await sleep(2000);
      const whileDown = await onReplica();
      await c.startReplica();
      const back = Date.now();
      // Once it answers its probe again (at most a second) and has caught up, reads use it again.
      await vi.waitFor(async () => expect(await onReplica()).toBeGreaterThan(whileDown + 20), { timeout: 15_000, interval: 100 });
      console.log(`[replicas] replica stopped for ${back - stoppedAt} ms under load: ${sent} requests, ${failures.length} failed; reads on it again ${Date.now() - back} ms after its restart; fallbacks ${JSON.stringify(await fallbacks(load))}`);
    } finally {
      running = false;
      await Promise.all(loops);
    }
    expect(failures).toEqual([]);
    // Reported ok again: polled, since a pooled connection opened before the stop fails once when
    // first used after it (a replica_error: that read went to the primary), and the probe that
    // follows may find the replica down for a moment more.
    await vi.waitFor(
      async () => {
        const ready = (await (await fetch(load.subgraphUrls.products.replace(/\/graphql$/, '/ready'))).json()) as { ready: boolean; checks: { replicas: unknown } };
        expect(ready.ready).toBe(true);
        expect(ready.checks.replicas).toEqual([{ replica: 0, state: 'ok', lagMs: expect.any(Number) }]);
      },
      { timeout: 10_000, interval: 200 },
    );
  }, 120_000);
});
