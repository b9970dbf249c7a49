// The cross-subgraph query of docs/api.md (MyOrders), answered through the gateway over real HTTP and a
// real PostgreSQL, checked against the deterministic seed.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { userIdFor } from '@commerce/db/ids';
import { generateSeed } from '@commerce/db/seed-data';
import { type SubgraphName, startGraph, type TestGraph } from './support/graph.js';
import { type SubgraphProxy, subgraphProxy } from './support/proxy.js';

const template = inject('templateDatabase');
const seed = generateSeed();
const cents = (amount: string) => Math.round(Number(amount) * 100);

const MY_ORDERS = /* GraphQL */ `
  query MyOrders($id: ID!) {
    user(id: $id) {
      name
      orders(first: 10) {
        totalCount
        edges { cursor node { id status total { amount currency }
          items { quantity unitPrice { amount currency } product { id name price { amount currency } } } } }
        pageInfo { hasNextPage endCursor }
      }
    }
  }`;

describe.skipIf(!template)('the federated graph on PostgreSQL', () => {
  let graph: TestGraph;
  beforeAll(async () => {
    graph = await startGraph({ kind: 'postgres', template: template as string });
  });
  afterAll(() => graph?.stop());

  it('answers products(first: 5) from the products subgraph', async () => {
    const result = await graph.query('{ products(first: 5) { edges { node { id sku name price { amount currency } stock } } pageInfo { hasNextPage } } }');
    expect(result.status).toBe(200);
    expect(result.errors).toBeUndefined();
    const expected = [...seed.products].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : 1)).slice(0, 5);
    expect(result.data?.products.edges.map((e: any) => e.node.sku)).toEqual(expected.map((p) => p.sku));
    expect(result.data?.products.edges[0].node.price.currency).toBe('USD');
    expect(result.data?.products.pageInfo.hasNextPage).toBe(true);
  });

  it('crosses users → orders → items → product with the data the seed wrote', async () => {
    const alice = userIdFor('alice@example.com');
    const result = await graph.query(MY_ORDERS, { id: alice }, await graph.as('alice@example.com'));
    expect(result.errors).toBeUndefined();
    const user = result.data?.user;
    expect(user.name).toBe('Alice Example');
    expect(user.orders.totalCount).toBe(40);
    expect(user.orders.pageInfo.hasNextPage).toBe(true);

    const hers = seed.orders
      .filter((o) => o.userId === alice)
      .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : -1))
      .slice(0, 10);
    expect(user.orders.edges.map((e: any) => e.node.id)).toEqual(hers.map((o) => o.id));

    const products = new Map(seed.products.map((p) => [p.id, p]));
    for (const [i, edge] of user.orders.edges.entries()) {
      const order = hers[i]!;
      expect(edge.node.status).toBe(order.status);
      expect(cents(edge.node.total.amount)).toBe(order.totalCents);
      const lines = seed.orderItems.filter((item) => item.orderId === order.id).sort((a, b) => a.position - b.position);
      expect(edge.node.items.map((item: any) => [item.product.id, item.quantity, cents(item.unitPrice.amount)])).toEqual(
        lines.map((line) => [line.productId, line.quantity, line.unitPriceCents]),
      );
      for (const item of edge.node.items) {
        expect(item.product.name).toBe(products.get(item.product.id)?.name);
        expect(cents(item.product.price.amount)).toBe(products.get(item.product.id)?.priceCents);
      }
      const sum = edge.node.items.reduce((total: number, item: any) => total + item.quantity * cents(item.unitPrice.amount), 0);
      expect(sum).toBe(cents(edge.node.total.amount));
    }
  });

  it('resolves Order.user back through the users subgraph', async () => {
    const order = seed.orders.find((o) => o.userId === userIdFor('bob@example.com'))!;
    const result = await graph.query('query ($id: ID!) { order(id: $id) { id user { id name email } } }', { id: order.id }, await graph.as('bob@example.com'));
    expect(result.errors).toBeUndefined();
    expect(result.data?.order.user).toEqual({ id: order.userId, name: 'Bob Example', email: 'bob@example.com' });
  });

  it('answers null, not an error, for unknown or malformed ids', async () => {
    const result = await graph.query(`{
      a: user(id: "00000000-0000-4000-8000-000000000000") { id }
      b: user(id: "not-a-uuid") { id }
      c: product(id: "42") { id }
      d: order(id: "00000000-0000-4000-8000-000000000000") { id }
      me { id }
    }`);
    expect(result.status).toBe(200);
    expect(result.errors).toBeUndefined();
    expect(result.data).toEqual({ a: null, b: null, c: null, d: null, me: null });
  });

  it('serves /health, /ready and /metrics on every service', async () => {
    for (const url of [graph.gatewayUrl, ...Object.values(graph.subgraphUrls)]) {
      const base = url.replace(/\/graphql$/, '');
      expect((await fetch(`${base}/health`)).status).toBe(200);
      const ready = await fetch(`${base}/ready`);
      expect(ready.status).toBe(200);
      expect(((await ready.json()) as { ready: boolean }).ready).toBe(true);
      expect(await (await fetch(`${base}/metrics`)).text()).toContain('http_request_duration_seconds');
    }
    expect(await graph.sqlStatements()).toBeGreaterThan(0);
  });

  it('passes the request id from the gateway to the subgraphs and back', async () => {
    // A replica whose subgraph calls go through proxies, so the test sees what each subgraph was
    // sent and which request id it took as its own (its answer's x-request-id, the id it logs).
    const names: SubgraphName[] = ['users', 'orders', 'products'];
    const proxies = Object.fromEntries(await Promise.all(names.map(async (name) => [name, await subgraphProxy(graph.subgraphUrls[name])] as const))) as Record<SubgraphName, SubgraphProxy>;
    try {
      const replica = await graph.startGateway({ CACHE_ENABLED: 'false' }, Object.fromEntries(names.map((name) => [name, proxies[name].url])));
      const requestId = `test-request-${Date.now()}`;
      const result = await replica.query(MY_ORDERS, { id: userIdFor('alice@example.com') }, { ...(await graph.as('alice@example.com')), 'x-request-id': requestId });
      expect(result.errors).toBeUndefined();
      expect(result.headers.get('x-request-id')).toBe(requestId);
      for (const name of names) {
        const { exchanges } = proxies[name];
        expect(exchanges.length, `calls to ${name}`).toBeGreaterThan(0);
        expect(exchanges.map((exchange) => [name, exchange.sent['x-request-id'], exchange.answered.get('x-request-id')])).toEqual(exchanges.map(() => [name, requestId, requestId]));
      }
    } finally {
      for (const proxy of Object.values(proxies)) await proxy.close();
    }
  });
});
