// The order saga through the gateway, as clients meet it: placeOrder (outbox → Redis Streams →
// products reserves → orders confirms or rejects), idempotency keys, cancel, and the invalid
// requests that must create nothing. Real PostgreSQL and Redis.
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { closeRedisClient, createRedisClient } from '@commerce/platform/redis-client';
import { RedisEventBus } from '@commerce/messaging/redis-event-bus';
import { startGraph, type TestGraph } from './support/graph.js';
import { decidedOrder, decisionLatency, newProduct as newTestProduct } from './support/orders.js';
import { seededUserEmail } from '@commerce/db/seed-data';

const template = inject('templateDatabase');
const redisUrl = inject('redisUrl');

const PLACE = 'mutation Place($input: PlaceOrderInput!) { placeOrder(input: $input) { order { id status rejectionReason total { amount currency } items { quantity unitPrice { amount } product { id } } } userErrors { field code message } } }';
const CANCEL = 'mutation Cancel($id: ID!) { cancelOrder(id: $id) { order { id status } userErrors { code } } }';
const ORDER = 'query Order($id: ID!) { order(id: $id) { id status rejectionReason total { amount } } }';
const STOCK = 'query Stock($id: ID!) { product(id: $id) { stock } }';

describe.skipIf(!template || !redisUrl)('placing orders: the saga over Redis Streams', () => {
  let graph: TestGraph;
  let admin: Record<string, string>;
  let sql: pg.Client;

  const newProduct = (stock: number, price = '2.50') => newTestProduct(graph, admin, stock, price, 'Saga test item');
  const stockOf = async (id: string) => (await graph.query(STOCK, { id }, admin)).data?.product.stock as number;
  const place = (who: Record<string, string>, items: Array<{ productId: string; quantity: number }>, idempotencyKey = `k-${Math.random()}`) =>
    graph.query(PLACE, { input: { items, idempotencyKey } }, who);
  /** Waits until the order has left PENDING (the client's polling), at most `ms`. */
  const decided = (id: string, ms = 30_000) => decidedOrder<any>(graph, admin, ORDER, id, ms);

  beforeAll(async () => {
    // 200 placeOrder calls at once on 2 shared cores queue behind each other: the gateway is given
    // time to wait for them (this file is about the saga's correctness; timeouts have their own tests).
    graph = await startGraph({ kind: 'postgres', template: template as string }, { redisUrl: redisUrl as string, gatewayEnv: { SUBGRAPH_TIMEOUT_MS: '15000', SUBGRAPH_MUTATION_TIMEOUT_MS: '15000' } });
    admin = await graph.as('admin@example.com');
    sql = new pg.Client({ connectionString: graph.databaseUrl as string });
    await sql.connect();
  });
  afterAll(async () => {
    await sql?.end();
    await graph?.stop();
  });

  it('200 concurrent buyers of a product with stock 50: exactly 50 CONFIRMED, 150 REJECTED (OUT_OF_STOCK), stock 0, never negative', { timeout: 120_000 }, async () => {
    const productId = await newProduct(50);
    const buyers = await Promise.all(Array.from({ length: 200 }, (_, i) => graph.as(seededUserEmail(i + 1))));
    const started = Date.now();
    // As a mobile client does: a request that failed in transit (the gateway gave up waiting on a
    // loaded machine) is retried with the same idempotency key, which returns the same order.
    let retries = 0;
    const buy = async (who: Record<string, string>, key: string) => {
      for (let attempt = 1; ; attempt++) {
        const answer = await place(who, [{ productId, quantity: 1 }], key);
        // Nothing was placed (SUBGRAPH_UNAVAILABLE, or TRY_AGAIN before the deadline): send it again.
      const again = answer.errors?.some((e) => e.extensions?.code === 'SUBGRAPH_UNAVAILABLE') || answer.data?.placeOrder?.userErrors?.[0]?.code === 'TRY_AGAIN';
      if (!again || attempt === 5) return answer;
        retries += 1;
        await sleep(1000); // the client's back-off
      }
    };
    const answers = await Promise.all(buyers.map((who, i) => buy(who, `buyer-${i}-${productId}`)));
    const answeredMs = Date.now() - started;
    expect(answers.filter((a) => a.errors || a.data?.placeOrder.userErrors.length).map((a) => JSON.stringify(a.errors ?? a.data?.placeOrder.userErrors))).toEqual([]);
    const orders = await Promise.all(answers.map((a) => decided(a.data?.placeOrder.order.id as string)));
    const byStatus = (status: string) => orders.filter((o) => o?.status === status);
    console.log(`200 concurrent placeOrder: answered in ${answeredMs} ms (${retries} retries with the same key); ${answers.filter((a) => a.data?.placeOrder.order.status !== 'PENDING').length} decided within the wait; final ${byStatus('CONFIRMED').length} CONFIRMED, ${byStatus('REJECTED').length} REJECTED`);
    const latency = await decisionLatency(sql, orders.map((o) => o?.id));
    console.log(`  placed → decided: p50 ${latency.p50} ms, p95 ${latency.p95} ms, max ${latency.max} ms`);
    expect(byStatus('CONFIRMED')).toHaveLength(50);
    expect(byStatus('REJECTED')).toHaveLength(150);
    expect(byStatus('REJECTED').every((o) => o.rejectionReason === 'OUT_OF_STOCK')).toBe(true);
    expect(await stockOf(productId)).toBe(0);
    // Σ confirmed quantity = stock consumed, and each confirmed total is its captured price × quantity.
    expect(byStatus('CONFIRMED').every((o) => o.total.amount === '2.50')).toBe(true);
    const { rows } = await sql.query<{ stock: number }>('SELECT stock FROM products.products WHERE id = $1', [productId]);
    expect(rows[0]!.stock).toBe(0);
  });

  it('the same idempotency key ten times at once: one order, the same answer to all; another payload with it is refused', async () => {
    const productId = await newProduct(100);
    const alice = await graph.as('alice@example.com');
    const key = `idem-${Date.now()}`;
    const answers = await Promise.all(Array.from({ length: 10 }, () => place(alice, [{ productId, quantity: 2 }], key)));
    const ids = new Set(answers.map((a) => a.data?.placeOrder.order?.id));
    expect(answers.every((a) => !a.errors && a.data?.placeOrder.userErrors.length === 0)).toBe(true);
    expect(ids.size).toBe(1);
    const { rows } = await sql.query('SELECT count(*)::int AS n FROM orders.order_items WHERE product_id = $1', [productId]);
    expect(rows[0].n).toBe(1);
    expect((await decided([...ids][0] as string))?.status).toBe('CONFIRMED');
    expect(await stockOf(productId)).toBe(98);
    const reused = await place(alice, [{ productId, quantity: 3 }], key);
    expect(reused.data?.placeOrder.order).toBeNull();
    expect(reused.data?.placeOrder.userErrors[0]).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', field: ['input', 'idempotencyKey'] });
  });

  it('cancel gives back exactly the reserved stock, once, even when OrderCancelled is delivered twice', async () => {
    const productId = await newProduct(10, '4.00');
    const bob = await graph.as('bob@example.com');
    const placed = await place(bob, [{ productId, quantity: 3 }]);
    const id = placed.data?.placeOrder.order.id as string;
    expect((await decided(id))?.status).toBe('CONFIRMED');
    expect((await decided(id))?.total.amount).toBe('12.00');
    expect(await stockOf(productId)).toBe(7);
    const cancelled = await graph.query(CANCEL, { id }, bob);
    expect(cancelled.data?.cancelOrder).toMatchObject({ order: { id, status: 'CANCELLED' }, userErrors: [] });
    await expect.poll(() => stockOf(productId), { timeout: 10_000, interval: 100 }).toBe(10);
    // The bus delivers at least once: send the very same event again.
    const { rows } = await sql.query<{ id: string; payload: Record<string, unknown> }>(`SELECT id::text, payload FROM orders.outbox WHERE type = 'OrderCancelled' AND payload->>'orderId' = $1`, [id]);
    expect(rows).toHaveLength(1);
    const client = createRedisClient(redisUrl as string);
    try {
      await vi.waitFor(() => expect(client.isReady).toBe(true), { timeout: 1000, interval: 20 });
      const bus = new RedisEventBus(client, { prefix: graph.redisPrefix as string });
      await bus.publish('orders', { id: rows[0]!.id, type: 'OrderCancelled', payload: rows[0]!.payload });
      // Handled: products' group has read the stream to its end and acknowledged everything.
      const stream = `${graph.redisPrefix}:stream:orders`;
      const fields = (reply: unknown) => Object.fromEntries((reply as string[]).flatMap((value, i, all) => (i % 2 === 0 ? [[value, all[i + 1]]] : [])));
      const handled = async () => {
        const groups = ((await client.sendCommand(['XINFO', 'GROUPS', stream])) as unknown[]).map(fields);
        const products = groups.find((group) => group.name === 'products');
        const { 'last-generated-id': last } = fields(await client.sendCommand(['XINFO', 'STREAM', stream]));
        return products?.['last-delivered-id'] === last && Number(products?.pending) === 0;
      };
      await expect.poll(handled, { timeout: 10_000, interval: 50 }).toBe(true);
    } finally {
      await closeRedisClient(client);
    }
    expect(await stockOf(productId)).toBe(10);
    // Cancelling again is refused; nothing changes.
    expect((await graph.query(CANCEL, { id }, bob)).data?.cancelOrder.userErrors[0].code).toBe('NOT_CANCELLABLE');
    // Someone else's order is not theirs to cancel.
    const other = await graph.query(CANCEL, { id }, await graph.as('alice@example.com'));
    expect(other.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('invalid requests are userErrors and create no order', async () => {
    const productId = await newProduct(5);
    const alice = await graph.as('alice@example.com');
    const before = (await sql.query('SELECT count(*)::int AS n FROM orders.orders')).rows[0].n;
    const cases: Array<[Array<{ productId: string; quantity: number }>, string]> = [
      [[{ productId: '00000000-0000-4000-8000-00000000dead', quantity: 1 }], 'NOT_FOUND'],
      [[{ productId: 'not-an-id', quantity: 1 }], 'INVALID'],
      [[{ productId, quantity: 0 }], 'INVALID'],
      [[{ productId, quantity: -2 }], 'INVALID'],
      [[{ productId, quantity: 101 }], 'INVALID'],
      [[], 'INVALID'],
      [Array.from({ length: 21 }, () => ({ productId, quantity: 1 })), 'INVALID'],
    ];
    for (const [items, code] of cases) {
      const answer = await place(alice, items);
      expect(answer.data?.placeOrder.order).toBeNull();
      expect(answer.data?.placeOrder.userErrors.map((e: { code: string }) => e.code)).toContain(code);
    }
    const deleted = await newProduct(5);
    await graph.query('mutation D($id: ID!) { deleteProduct(id: $id) { userErrors { code } } }', { id: deleted }, admin);
    expect((await place(alice, [{ productId: deleted, quantity: 1 }])).data?.placeOrder.userErrors[0].code).toBe('NOT_FOUND');
    expect((await sql.query('SELECT count(*)::int AS n FROM orders.orders')).rows[0].n).toBe(before);
    expect(await stockOf(productId)).toBe(5);
    const anonymous = await graph.query(PLACE, { input: { items: [{ productId, quantity: 1 }], idempotencyKey: 'x' } });
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('a confirmed order shows in the buyer\'s cached order list at once, and the cached stock is never stale', async () => {
    const productId = await newProduct(20);
    const carol = await graph.as(seededUserEmail(900));
    const LIST = '{ me { orders(first: 5) { totalCount edges { node { id status } } } } }';
    const warm = await graph.query(LIST, undefined, carol);
    await graph.query(LIST, undefined, carol); // cached now
    await graph.query(STOCK, { id: productId }); // public stock, cached
    await graph.query(STOCK, { id: productId });
    const placed = await place(carol, [{ productId, quantity: 4 }]);
    const id = placed.data?.placeOrder.order.id as string;
    await decided(id);
    const list = await graph.query(LIST, undefined, carol);
    expect(list.data?.me.orders.totalCount).toBe((warm.data?.me.orders.totalCount as number) + 1);
    expect(list.data?.me.orders.edges[0].node).toEqual({ id, status: 'CONFIRMED' });
    expect((await graph.query(STOCK, { id: productId })).data?.product.stock).toBe(16);
  });
});
