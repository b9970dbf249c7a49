// Deadlines propagate: the gateway tells each subgraph fetch how long it has left (`x-deadline-ms`,
// retries included), a subgraph passes on no more than what it has left, and placeOrder answers
// before the deadline with an outcome the client can act on: the order (PENDING at worst), or
// TRY_AGAIN with nothing written, whatever it was waiting for (the products check, a connection).
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DEADLINE_HEADER } from '@commerce/platform/deadline';
import { seededUserEmail } from '@commerce/db/seed-data';
import { startGraph, type GraphQLResponse, type TestGraph } from './support/graph.js';
import { newProduct } from './support/orders.js';
import { subgraphProxy, type SubgraphProxy } from './support/proxy.js';

const template = inject('templateDatabase');
const redisUrl = inject('redisUrl');

/** A TCP proxy to `target` that delays what the server sends by `ms` (a database farther away). */
async function latencyProxy(target: URL, ms: number): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(target.port || 5432), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => sockets.delete(socket));
    }
    client.on('data', (chunk) => upstream.write(chunk));
    upstream.on('data', (chunk) => setTimeout(() => client.writable && client.write(chunk), ms));
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => setTimeout(() => client.destroy(), ms));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    }),
  };
}

const PLACE = 'mutation Place($input: PlaceOrderInput!) { placeOrder(input: $input) { order { id status } userErrors { field code message } } }';
const TIMEOUT_MS = 1500;

describe.skipIf(!template || !redisUrl)('deadlines from the gateway to the last wait', () => {
  let graph: TestGraph;
  let proxy: SubgraphProxy;
  let gateway: Awaited<ReturnType<TestGraph['startGateway']>>;
  let sql: pg.Client;
  let admin: Record<string, string>;
  let product: string;

  beforeAll(async () => {
    graph = await startGraph({ kind: 'postgres', template: template as string }, { redisUrl: redisUrl as string, env: { CACHE_ENABLED: 'false' } });
    // An orders replica that reaches products through a proxy that can hold answers back, and a
    // gateway whose every fetch (products' included) goes through the same proxy.
    proxy = await subgraphProxy(graph.subgraphUrls.products);
    const orders = await graph.startReplica('orders', { PRODUCTS_URL: proxy.url });
    gateway = await graph.startGateway({ SUBGRAPH_TIMEOUT_MS: String(TIMEOUT_MS), SUBGRAPH_MUTATION_TIMEOUT_MS: String(TIMEOUT_MS), SUBGRAPH_MUTATION_GRACE_MS: '0' }, { orders: orders.url, products: proxy.url });
    admin = await graph.as('admin@example.com');
    product = await newProduct(graph, admin, 10_000, '1.00', 'Deadline test item');
    sql = new pg.Client({ connectionString: graph.databaseUrl as string });
    await sql.connect();
  }, 120_000);
  afterAll(async () => {
    await sql?.end();
    await proxy?.close();
    await graph?.stop();
  });

  const ordersWithKey = async (key: string) => Number((await sql.query<{ n: string }>('SELECT count(*) AS n FROM orders.idempotency_keys k JOIN orders.orders o ON o.id = k.order_id WHERE k.key = $1', [key])).rows[0]!.n);
  const place = (who: Record<string, string>, key: string) => gateway.query(PLACE, { input: { items: [{ productId: product, quantity: 1 }], idempotencyKey: key } }, who);

  it('every fetch carries the time left, and a subgraph passes on less than it was given', async () => {
    const before = proxy.exchanges.length;
    const read = await gateway.query(`{ product(id: "${product}") { name } }`);
    expect(read.errors).toBeUndefined();
    const fromGateway = proxy.exchanges.slice(before).map((exchange) => Number(exchange.sent[DEADLINE_HEADER]));
    expect(fromGateway.length).toBe(1);
    expect(fromGateway[0]).toBeGreaterThan(TIMEOUT_MS - 200);
    expect(fromGateway[0]).toBeLessThanOrEqual(TIMEOUT_MS);

    // orders checks the products of an order on the same proxy: with less than the gateway gave it.
    const mark = proxy.exchanges.length;
    const placed = await place(await graph.as(seededUserEmail(1)), `deadline-header-${Date.now()}`);
    expect(placed.data?.placeOrder.userErrors).toEqual([]);
    const fromOrders = proxy.exchanges.slice(mark).map((exchange) => Number(exchange.sent[DEADLINE_HEADER]));
    expect(fromOrders.length).toBe(1);
    expect(fromOrders[0]).toBeGreaterThan(0);
    expect(fromOrders[0]).toBeLessThan(TIMEOUT_MS - 50); // the gateway's, less orders' margin and its own work
  });

  it('a mutation answered after its deadline: taken within SUBGRAPH_MUTATION_GRACE_MS (the write it made is known), an unknown outcome without it', async () => {
    const patient = await graph.startGateway({ SUBGRAPH_TIMEOUT_MS: String(TIMEOUT_MS), SUBGRAPH_MUTATION_TIMEOUT_MS: String(TIMEOUT_MS), SUBGRAPH_MUTATION_GRACE_MS: String(TIMEOUT_MS * 2) }, { products: proxy.url });
    const restock = (stock: number) => `mutation { updateProduct(id: "${product}", input: { stock: ${stock} }) { product { stock } userErrors { code } } }`;
    // products answers at once; the proxy holds its answer past the deadline (a reply that waits
    // unread behind a busy event loop looks the same to the gateway).
    proxy.setDelay(TIMEOUT_MS + 500);
    let late: GraphQLResponse;
    let strict: GraphQLResponse;
    try {
      [late, strict] = await Promise.all([patient.query(restock(9_000), undefined, admin), gateway.query(restock(9_001), undefined, admin)]);
    } finally {
      proxy.setDelay(0);
    }
    expect(late.errors).toBeUndefined();
    expect(late.data?.updateProduct).toEqual({ product: { stock: 9_000 }, userErrors: [] });
    // Without the grace the same late answer is thrown away: the client cannot tell that the write happened.
    expect(strict.errors?.[0]?.extensions).toMatchObject({ code: 'SUBGRAPH_UNAVAILABLE', subgraph: 'products', reason: 'timeout' });
    const { rows } = await sql.query<{ stock: number }>('SELECT stock FROM products.products WHERE id = $1', [product]);
    expect([9_000, 9_001]).toContain(rows[0]!.stock);
  });

  it('products too slow for the deadline: TRY_AGAIN before the gateway gives up, nothing written, and the same key then places the order once', async () => {
    const buyer = await graph.as(seededUserEmail(2));
    const key = `deadline-slow-products-${Date.now()}`;
    proxy.setDelay(TIMEOUT_MS * 2);
    let answer: GraphQLResponse;
    const started = Date.now();
    try {
      answer = await place(buyer, key);
    } finally {
      proxy.setDelay(0);
    }
    const took = Date.now() - started;
    expect(answer.errors).toBeUndefined(); // not SUBGRAPH_UNAVAILABLE: orders answered in time
    expect(answer.data?.placeOrder).toMatchObject({ order: null, userErrors: [{ code: 'TRY_AGAIN', field: null }] });
    expect(took).toBeLessThan(TIMEOUT_MS + 500);
    expect(await ordersWithKey(key)).toBe(0);

    const again = await place(buyer, key);
    expect(again.data?.placeOrder.userErrors).toEqual([]);
    expect(again.data?.placeOrder.order.id).toBeTruthy();
    expect(await ordersWithKey(key)).toBe(1);
  });

  it('connections scarcer than the load (a pool of 1 to a database 40 ms away, a deadline of 2 s): every call is an order or TRY_AGAIN, never an error; TRY_AGAIN wrote nothing, and retries place each order exactly once', async () => {
    const far = await latencyProxy(new URL(graph.databaseUrl as string), 40);
    try {
      const url = new URL(graph.databaseUrl as string);
      url.host = `127.0.0.1:${far.port}`;
      const scarce = await graph.startReplica('orders', { DATABASE_URL: url.toString(), DATABASE_POOL_SIZE: '1' });
      const tight = await graph.startGateway({ SUBGRAPH_TIMEOUT_MS: '2000', SUBGRAPH_MUTATION_TIMEOUT_MS: '2000', SUBGRAPH_MUTATION_GRACE_MS: '0' }, { orders: scarce.url });
      const buyers = await Promise.all(Array.from({ length: 20 }, (_, i) => graph.as(seededUserEmail(10 + i))));
      const run = `deadline-pool-${Date.now()}`;
      const calls = buyers.flatMap((who, i) => [0, 1].map((n) => ({ who, key: `${run}-${i}-${n}` })));
      const send = (call: { who: Record<string, string>; key: string }, via = tight) => via.query(PLACE, { input: { items: [{ productId: product, quantity: 1 }], idempotencyKey: call.key } }, call.who);
      const answers = await Promise.all(calls.map((call) => send(call)));
      const errors = answers.filter((a) => a.errors).map((a) => JSON.stringify(a.errors));
      expect(errors).toEqual([]);
      const codes = answers.map((a) => (a.data?.placeOrder.order ? 'order' : a.data?.placeOrder.userErrors.map((e: { code: string }) => e.code).join()));
      expect(codes.filter((code) => code !== 'order' && code !== 'TRY_AGAIN')).toEqual([]);
      const retry = calls.filter((_, i) => codes[i] === 'TRY_AGAIN');
      console.log(`${calls.length} concurrent placeOrder, one connection 40 ms away, 2 s deadline: ${calls.length - retry.length} orders, ${retry.length} TRY_AGAIN, 0 errors`);
      expect(retry.length).toBeGreaterThan(0); // the load did outrun the pool: the path under test was taken
      expect(retry.length).toBeLessThan(calls.length); // and the pool did serve some within the deadline
      for (const call of retry) expect(await ordersWithKey(call.key), call.key).toBe(0);

      // The clients retry with their keys, with time enough: each order exists exactly once.
      for (const call of retry) expect((await send(call, gateway)).data?.placeOrder.userErrors).toEqual([]);
      const { rows } = await sql.query<{ keys: string; orders: string }>('SELECT count(*) AS keys, count(DISTINCT order_id) AS orders FROM orders.idempotency_keys WHERE key LIKE $1', [`${run}-%`]);
      expect(rows[0]).toEqual({ keys: String(calls.length), orders: String(calls.length) });
    } finally {
      await far.close();
    }
  });
});
