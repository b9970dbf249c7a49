// What the order tests do as a shop's admin and its clients: a product of their own to sell, and
// the client's polling of an order until the saga has decided it.
import type pg from 'pg';
import { expect, vi } from 'vitest';
import type { TestGraph } from './graph.js';

const CREATE = 'mutation Create($input: CreateProductInput!) { createProduct(input: $input) { product { id } userErrors { code message } } }';

/** A new product with a sku of its own (so tests never share stock); its id. */
export async function newProduct(graph: TestGraph, admin: Record<string, string>, stock: number, price: string, name = 'Order test item'): Promise<string> {
  const created = await graph.query(CREATE, { input: { sku: `TEST-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`, name, category: 'tests', price, stock } }, admin);
  expect(created.data?.createProduct.userErrors).toEqual([]);
  const id = created.data?.createProduct.product?.id as string;
  expect(id).toBeTruthy();
  return id;
}

/** Asks `query` (an `order(id: $id)` query) until the order has left PENDING, at most `ms`; that answer. */
export function decidedOrder<T extends { status: string }>(graph: TestGraph, admin: Record<string, string>, query: string, id: string, ms: number): Promise<T> {
  return vi.waitFor(
    async () => {
      const order = (await graph.query<{ order: T }>(query, { id }, admin)).data?.order as T;
      expect(order?.status, `order ${id}`).not.toBe('PENDING');
      return order;
    },
    { timeout: ms, interval: 100 },
  );
}

/** Placed (the order's commit) to decided (the outcome's commit) for these orders, in ms, from the rows themselves. */
export async function decisionLatency(sql: pg.Client, ids: readonly string[]): Promise<{ p50: number; p95: number; max: number }> {
  const { rows } = await sql.query<{ p50: number; p95: number; max: number }>(
    `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50, percentile_cont(0.95) WITHIN GROUP (ORDER BY ms) AS p95, max(ms) AS max
     FROM (SELECT extract(epoch FROM updated_at - created_at) * 1000 AS ms FROM orders.orders WHERE id = ANY($1::uuid[])) t`,
    [ids],
  );
  const { p50, p95, max } = rows[0]!;
  return { p50: Math.round(p50), p95: Math.round(p95), max: Math.round(max) };
}
