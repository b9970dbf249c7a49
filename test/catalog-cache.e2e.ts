// What orders learns of a product when an order is placed (its name, price and that it exists:
// catalog.ts) is kept in the shared cache under the product's catalog tag. The next orders for it
// do not ask products; a change to its name, price or existence is seen by the very next order;
// a change of stock alone (every reservation is one) keeps it. Orders reaches products through a
// proxy here, which counts what it is asked. Real PostgreSQL and Redis.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { seededUserEmail } from '@commerce/db/seed-data';
import { startGraph, type TestGraph } from './support/graph.js';
import { decidedOrder, newProduct } from './support/orders.js';
import { type SubgraphProxy, subgraphProxy } from './support/proxy.js';

const template = inject('templateDatabase');
const redisUrl = inject('redisUrl');

const PLACE = 'mutation Place($input: PlaceOrderInput!) { placeOrder(input: $input) { order { id status items { unitPrice { amount } } } userErrors { code } } }';
const ORDER = 'query Order($id: ID!) { order(id: $id) { id status } }';
const UPDATE = 'mutation U($id: ID!, $input: UpdateProductInput!) { updateProduct(id: $id, input: $input) { product { id } userErrors { code } } }';
const DELETE = 'mutation D($id: ID!) { deleteProduct(id: $id) { userErrors { code } } }';

describe.skipIf(!template || !redisUrl)('orders keeps what it learns of a product, and never past a change to it', () => {
  let graph: TestGraph;
  let proxy: SubgraphProxy;
  let gateway: Awaited<ReturnType<TestGraph['startGateway']>>;
  let admin: Record<string, string>;
  let sql: pg.Client;
  let buyer = 0;

  beforeAll(async () => {
    graph = await startGraph({ kind: 'postgres', template: template as string }, { redisUrl: redisUrl as string });
    proxy = await subgraphProxy(graph.subgraphUrls.products);
    const orders = await graph.startReplica('orders', { PRODUCTS_URL: proxy.url });
    gateway = await graph.startGateway({ SUBGRAPH_MUTATION_TIMEOUT_MS: '15000' }, { orders: orders.url });
    admin = await graph.as('admin@example.com');
    sql = new pg.Client({ connectionString: graph.databaseUrl as string });
    await sql.connect();
  }, 120_000);
  afterAll(async () => {
    await sql?.end();
    await proxy?.close();
    await graph?.stop();
  });

  /** Questions orders has sent products so far. */
  const asked = () => proxy.exchanges.length;
  const place = async (productId: string) => {
    const answer = await gateway.query<any>(PLACE, { input: { items: [{ productId, quantity: 1 }], idempotencyKey: `catalog-${Date.now()}-${Math.random()}` } }, await graph.as(seededUserEmail(++buyer)));
    expect(answer.errors).toBeUndefined();
    return answer.data!.placeOrder as { order: { id: string; status: string; items: Array<{ unitPrice: { amount: string } }> } | null; userErrors: Array<{ code: string }> };
  };
  const lineName = async (orderId: string) => (await sql.query<{ product_name: string }>('SELECT product_name FROM orders.order_items WHERE order_id = $1', [orderId])).rows[0]?.product_name;

  it('asks products once for a product, then not again; twenty orders at once for a new one share a few questions', async () => {
    const product = await newProduct(graph, admin, 1_000, '2.50', 'Catalog item');
    let before = asked();
    expect((await place(product)).userErrors).toEqual([]);
    expect(asked() - before).toBe(1);
    before = asked();
    for (let i = 0; i < 5; i++) expect((await place(product)).userErrors).toEqual([]);
    expect(asked() - before).toBe(0);

    const fresh = await newProduct(graph, admin, 1_000, '2.50', 'Catalog burst item');
    before = asked();
    const answers = await Promise.all(Array.from({ length: 20 }, () => place(fresh)));
    expect(answers.every((answer) => answer.order !== null)).toBe(true);
    const questions = asked() - before;
    console.log(`20 orders at once for a product orders had not seen: ${questions} question(s) to products`);
    // The first question, then one for everyone who missed while it was out (a question already
    // sent is never shared: its read may predate their call), and now and then one more for a call
    // that looked just before the answer was stored. Unshared, it would be 20.
    expect(questions).toBeGreaterThanOrEqual(1);
    expect(questions).toBeLessThanOrEqual(4);
  });

  it('a new name and price: the very next order has them (the update purged what orders kept)', async () => {
    const product = await newProduct(graph, admin, 1_000, '2.50', 'Before the rename');
    const first = await place(product);
    expect(await lineName(first.order!.id)).toBe('Before the rename');
    await decidedOrder(graph, admin, ORDER, first.order!.id, 30_000);

    const update = await graph.query<any>(UPDATE, { id: product, input: { name: 'After the rename', price: '4.00' } }, admin);
    expect(update.data?.updateProduct.userErrors).toEqual([]);
    const before = asked();
    const next = await place(product);
    expect(asked() - before).toBe(1);
    expect(await lineName(next.order!.id)).toBe('After the rename');
    expect(next.order!.items[0]!.unitPrice.amount).toBe('4.00');
  });

  it('stock changes (a restock, the reservations themselves) keep what orders knows', async () => {
    const product = await newProduct(graph, admin, 1_000, '2.50', 'Restocked item');
    const first = await place(product);
    await decidedOrder(graph, admin, ORDER, first.order!.id, 30_000); // its reservation purged the product's stock
    const restock = await graph.query<any>(UPDATE, { id: product, input: { stock: 5_000 } }, admin);
    expect(restock.data?.updateProduct.userErrors).toEqual([]);
    const before = asked();
    const next = await place(product);
    expect(next.userErrors).toEqual([]);
    expect(asked() - before).toBe(0);
  });

  it('a deleted product: the very next order is refused NOT_FOUND, and nothing is written', async () => {
    const product = await newProduct(graph, admin, 1_000, '2.50', 'Deleted item');
    expect((await place(product)).userErrors).toEqual([]);
    const deleted = await graph.query<any>(DELETE, { id: product }, admin);
    expect(deleted.data?.deleteProduct.userErrors).toEqual([]);
    const count = async () => Number((await sql.query<{ n: string }>('SELECT count(*) AS n FROM orders.order_items WHERE product_id = $1', [product])).rows[0]!.n);
    const linesBefore = await count();
    const refused = await place(product);
    expect(refused.order).toBeNull();
    expect(refused.userErrors.map((error) => error.code)).toEqual(['NOT_FOUND']);
    expect(await count()).toBe(linesBefore);
    // Not kept either: each attempt asks again (a product that does not exist is never remembered).
    const before = asked();
    expect((await place(product)).userErrors.map((error) => error.code)).toEqual(['NOT_FOUND']);
    expect(asked() - before).toBe(1);
  });
});
