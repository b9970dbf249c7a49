// The nested query of the N+1 tests: users -> orders -> items -> product, page size n at each level.
import { expect } from 'vitest';
import type { TestGraph } from './graph.js';

const NESTED = /* GraphQL */ `
  query Nested($n: Int!) {
    users(first: $n) { edges { node { id name
      orders(first: $n) { edges { node { id status total { amount }
        items { quantity product { id name price { amount } } } } } }
    } } }
  }`;

/** Runs the nested query and returns the statements it cost and how much data came back. */
export async function statementsFor(graph: TestGraph, n: number): Promise<{ statements: number; users: number; orders: number; items: number }> {
  const before = await graph.sqlStatements();
  // Listing users and reading their orders is for admins.
  const result = await graph.query(NESTED, { n }, await graph.as('admin@example.com'));
  const after = await graph.sqlStatements();
  expect(result.errors).toBeUndefined();
  const users = result.data?.users.edges ?? [];
  const orders = users.flatMap((u: any) => u.node.orders.edges);
  const items = orders.flatMap((o: any) => o.node.items);
  expect(items.every((item: any) => typeof item.product?.name === 'string')).toBe(true);
  return { statements: after - before, users: users.length, orders: orders.length, items: items.length };
}
