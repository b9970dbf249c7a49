// What the order tests do as a shop's admin and its clients: a product of their own to sell, and
// the client's polling of an order until the saga has decided it.
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'vitest';
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

/** Asks `query` (an `order(id: $id)` query) until the order has left PENDING, at most `ms`; the last answer. */
export async function decidedOrder<T extends { status: string }>(graph: TestGraph, admin: Record<string, string>, query: string, id: string, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const order = (await graph.query<{ order: T }>(query, { id }, admin)).data?.order as T;
    if (order?.status !== 'PENDING' || Date.now() > deadline) return order;
    await sleep(100);
  }
}
