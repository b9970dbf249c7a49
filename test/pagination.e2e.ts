// Keyset pagination through the gateway: every order and direction walks the whole list exactly
// once (checked against SQL), pages stay stable when rows are inserted, bad input is BAD_USER_INPUT.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { userIdFor } from '@commerce/db/ids';
import { type GraphQLResponse, startGraph, type TestGraph } from './support/graph.js';

const template = inject('templateDatabase');

const PAGE = /* GraphQL */ `
  query Page($first: Int, $after: String, $last: Int, $before: String, $filter: ProductFilter, $orderBy: ProductOrder) {
    products(first: $first, after: $after, last: $last, before: $before, filter: $filter, orderBy: $orderBy) {
      totalCount
      edges { cursor node { id } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }`;

type Page = { totalCount: number; edges: Array<{ cursor: string; node: { id: string } }>; pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null } };

describe.skipIf(!template)('cursor pagination on PostgreSQL', () => {
  let graph: TestGraph;
  let sql: pg.Client;
  const ids = async (query: string, params: unknown[] = []) => (await sql.query<{ id: string }>(query, params)).rows.map((r) => r.id);
  const page = async (variables: Record<string, unknown>): Promise<Page> => {
    const result = await graph.query<{ products: Page }>(PAGE, variables);
    expect(result.errors).toBeUndefined();
    return result.data!.products;
  };

  beforeAll(async () => {
    graph = await startGraph({ kind: 'postgres', template: template as string });
    sql = new pg.Client({ connectionString: graph.databaseUrl!, options: '-c search_path=products' });
    await sql.connect();
  });
  afterAll(async () => {
    await sql?.end();
    await graph?.stop();
  });

  const orders = [
    ['CREATED_AT', 'created_at'],
    ['PRICE', 'price_cents'],
    ['NAME', 'name'],
  ] as const;

  for (const [field, column] of orders) {
    for (const direction of ['ASC', 'DESC'] as const) {
      it(`walks all products by ${field} ${direction}, forwards and backwards`, async () => {
        const expected = await ids(`SELECT id FROM products WHERE deleted_at IS NULL ORDER BY ${column} ${direction}, id ${direction}`);
        const orderBy = { field, direction };

        const forward: string[] = [];
        let after: string | null = null;
        for (let guard = 0; guard < 20; guard++) {
          const p: Page = await page({ first: 37, after, orderBy });
          forward.push(...p.edges.map((e) => e.node.id));
          expect(p.pageInfo.hasPreviousPage).toBe(after !== null);
          if (!p.pageInfo.hasNextPage) break;
          after = p.pageInfo.endCursor;
        }
        expect(forward).toEqual(expected);

        const backward: string[][] = [];
        let before: string | null = null;
        for (let guard = 0; guard < 20; guard++) {
          const p: Page = await page({ last: 41, before, orderBy });
          backward.unshift(p.edges.map((e) => e.node.id));
          if (!p.pageInfo.hasPreviousPage) break;
          before = p.pageInfo.startCursor;
        }
        expect(backward.flat()).toEqual(expected);
      });
    }
  }

  it('filters by category, price range, stock and search, with a matching totalCount', async () => {
    const filter = { category: 'kitchen', minPrice: '50.00', maxPrice: '300', inStock: true };
    const expected = await ids(
      'SELECT id FROM products WHERE deleted_at IS NULL AND category = $1 AND price_cents BETWEEN $2 AND $3 AND stock > 0 ORDER BY price_cents, id',
      ['kitchen', 5000, 30000],
    );
    expect(expected.length).toBeGreaterThan(3);
    const p = await page({ first: 100, filter, orderBy: { field: 'PRICE', direction: 'ASC' } });
    expect(p.edges.map((e) => e.node.id)).toEqual(expected);
    expect(p.totalCount).toBe(expected.length);

    const search = await page({ first: 100, filter: { search: 'KETTLE' } });
    const kettles = await ids("SELECT id FROM products WHERE deleted_at IS NULL AND (name ILIKE '%kettle%' OR description ILIKE '%kettle%') ORDER BY created_at, id");
    expect(search.edges.map((e) => e.node.id)).toEqual(kettles);
    expect(kettles.length).toBeGreaterThan(0);

    const empty = await page({ first: 5, filter: { category: 'no-such-category' } });
    expect(empty).toMatchObject({ totalCount: 0, edges: [], pageInfo: { hasNextPage: false, startCursor: null, endCursor: null } });
  });

  it('keeps the next page stable when rows are inserted before the cursor', async () => {
    const orderBy = { field: 'CREATED_AT', direction: 'ASC' };
    const first = await page({ first: 10, orderBy });
    const nextBefore = await page({ first: 10, after: first.pageInfo.endCursor, orderBy });
    await sql.query(
      "INSERT INTO products (id, sku, name, description, category, price_cents, stock, created_at) VALUES (gen_random_uuid(), 'SKU-INSERTED', 'Inserted', 'x', 'books', 100, 1, '2024-01-01')",
    );
    const nextAfter = await page({ first: 10, after: first.pageInfo.endCursor, orderBy });
    expect(nextAfter.edges.map((e) => e.node.id)).toEqual(nextBefore.edges.map((e) => e.node.id));
    const fresh = await page({ first: 1, orderBy });
    expect(fresh.totalCount).toBe(first.totalCount + 1);
    await sql.query("DELETE FROM products WHERE sku = 'SKU-INSERTED'");
  });

  it('exact page, last page and an empty page have the right pageInfo', async () => {
    const all = await page({ first: 100, filter: { category: 'toys' } });
    const n = all.totalCount;
    expect(n).toBe(50);
    const exact = await page({ first: n, filter: { category: 'toys' } });
    expect(exact.edges).toHaveLength(n);
    expect(exact.pageInfo.hasNextPage).toBe(false);
    const tail = await page({ first: 10, after: all.edges[n - 4]!.cursor, filter: { category: 'toys' } });
    expect(tail.edges.map((e) => e.node.id)).toEqual(all.edges.slice(n - 3).map((e) => e.node.id));
    expect(tail.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
    const none = await page({ first: 10, after: all.edges[n - 1]!.cursor, filter: { category: 'toys' } });
    expect(none.edges).toEqual([]);
    expect(none.pageInfo).toMatchObject({ hasNextPage: false, startCursor: null, endCursor: null });
    const zero = await page({ first: 0 });
    expect(zero.edges).toEqual([]);
  });

  it('pages through one user\'s orders newest first', async () => {
    const alice = userIdFor('alice@example.com');
    const orders = new pg.Client({ connectionString: graph.databaseUrl!, options: '-c search_path=orders' });
    await orders.connect();
    const expected = (await orders.query<{ id: string }>('SELECT id FROM orders WHERE user_id = $1 ORDER BY created_at DESC, id DESC', [alice])).rows.map((r) => r.id);
    const confirmed = (await orders.query<{ id: string }>("SELECT id FROM orders WHERE user_id = $1 AND status = 'CONFIRMED' ORDER BY created_at DESC, id DESC", [alice])).rows.map((r) => r.id);
    await orders.end();
    const query = 'query ($id: ID!, $after: String, $status: OrderStatus) { user(id: $id) { orders(first: 7, after: $after, status: $status) { totalCount edges { node { id status } } pageInfo { hasNextPage endCursor } } } }';
    for (const [status, want] of [[null, expected], ['CONFIRMED', confirmed]] as const) {
      const seen: string[] = [];
      let after: string | null = null;
      for (let guard = 0; guard < 10; guard++) {
        type Orders = { totalCount: number; edges: Array<{ node: { id: string } }>; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
        const result: GraphQLResponse<{ user: { orders: Orders } }> = await graph.query(query, { id: alice, after, status }, await graph.as('alice@example.com'));
        expect(result.errors).toBeUndefined();
        const connection: Orders = result.data!.user.orders;
        expect(connection.totalCount).toBe(want.length);
        seen.push(...connection.edges.map((e) => e.node.id));
        if (!connection.pageInfo.hasNextPage) break;
        after = connection.pageInfo.endCursor;
      }
      expect(seen).toEqual(want);
    }
  });

  it('a database failure is INTERNAL_SERVER_ERROR with no SQL, table name or stack trace', async () => {
    await sql.query('ALTER TABLE products RENAME TO products_hidden');
    try {
      const result = await graph.query('{ products(first: 2) { edges { node { id } } } }');
      expect(result.status).toBe(200);
      expect(result.errors?.[0]?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
      expect(result.errors?.[0]?.message).toBe('Internal server error');
      const direct = await fetch(graph.subgraphUrls.products, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ products(first: 2) { totalCount } }' }) });
      for (const body of [JSON.stringify(result), await direct.text()]) {
        expect(body).toContain('INTERNAL_SERVER_ERROR');
        expect(body).not.toMatch(/products_hidden|relation|SELECT|stacktrace|at \w+ \(/i);
      }
    } finally {
      await sql.query('ALTER TABLE products_hidden RENAME TO products');
    }
    const healed = await page({ first: 1 });
    expect(healed.edges).toHaveLength(1);
  });

  describe('rejects bad page arguments with BAD_USER_INPUT', () => {
    const expectBadInput = async (variables: Record<string, unknown>, query = PAGE) => {
      const result = await graph.query(query, variables, await graph.as('alice@example.com'));
      expect(result.status).toBe(200);
      expect(result.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(JSON.stringify(result.errors)).not.toMatch(/stacktrace|SELECT|prisma/i);
      return result;
    };

    it('first above 100, negative sizes, first with last', async () => {
      const tooMany = await expectBadInput({ first: 101 });
      expect(tooMany.errors?.[0]?.message).toContain('100');
      await expectBadInput({ first: -1 });
      await expectBadInput({ last: 1000 });
      await expectBadInput({ first: 5, last: 5 });
      await expectBadInput({ first: 5, before: 'x' });
    });

    it('a tampered, foreign or garbage cursor', async () => {
      const p = await page({ first: 2, orderBy: { field: 'PRICE', direction: 'ASC' } });
      const cursor = p.pageInfo.endCursor!;
      const decoded = Buffer.from(cursor.split('.')[0]!, 'base64url').toString();
      const edited = Buffer.from(decoded.replace(/"price_cents|priceCents"/, '"priceCents"').replace(/,(\d+),/, ',1,')).toString('base64url');
      await expectBadInput({ first: 2, after: `${edited}.${cursor.split('.')[1]}`, orderBy: { field: 'PRICE', direction: 'ASC' } });
      await expectBadInput({ first: 2, after: cursor, orderBy: { field: 'NAME', direction: 'ASC' } });
      await expectBadInput({ first: 2, after: `${cursor.slice(0, -2)}AA`, orderBy: { field: 'PRICE', direction: 'ASC' } });
      await expectBadInput({ first: 2, after: 'not a cursor' });
      await expectBadInput({ first: 2, after: '' });
      await expectBadInput({ first: 2, after: 'x'.repeat(5000) });
      const alice = userIdFor('alice@example.com');
      await expectBadInput({ id: alice, after: cursor }, 'query ($id: ID!, $after: String) { user(id: $id) { orders(first: 2, after: $after) { edges { cursor } } } }');
    });

    it('a price that is not a decimal amount', async () => {
      await expectBadInput({ first: 2, filter: { minPrice: 'ten' } });
      await expectBadInput({ first: 2, filter: { maxPrice: '1.999' } });
    });
  });
});
