// Batch functions against an in-memory stand-in for the repository (the real SQL is covered by
// the e2e tests): one result per key, in key order, one repository call per batch.
import { encodeCursor } from '@commerce/subgraph-kit';
import { describe, expect, it } from 'vitest';
import type { OrderStatus } from './generated/prisma/client.js';
import { batchItems, batchUserOrders, type UserOrdersKey } from './loaders.js';
import type { OrderItemRow, OrderRow } from './repository.js';

const U1 = '11111111-1111-4111-8111-111111111111';
const U2 = '22222222-2222-4222-8222-222222222222';
const U3 = '33333333-3333-4333-8333-333333333333';
const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

function order(n: number, userId: string, status: OrderStatus = 'CONFIRMED'): OrderRow {
  return { id: id(n), userId, status, totalCents: n * 100, currency: 'USD', rejectionReason: null, createdAt: new Date(Date.UTC(2025, 0, n)), updatedAt: new Date() };
}
const ORDERS = [order(1, U1), order(2, U1, 'PENDING'), order(3, U1), order(4, U2), order(5, U2)];

function repository() {
  const calls: string[] = [];
  return {
    calls,
    async ordersByIds(ids: readonly string[]) {
      calls.push(`ordersByIds:${ids.length}`);
      return ORDERS.filter((o) => ids.includes(o.id)).reverse();
    },
    async itemsOfOrders(ids: readonly string[]): Promise<OrderItemRow[]> {
      calls.push(`itemsOfOrders:${ids.length}`);
      return ids.flatMap((orderId, i) => (i % 2 === 0 ? [0, 1].map((position) => ({ id: `${orderId}-${position}`, orderId, position, productId: id(90 + position), productName: 'P', quantity: 1, unitPriceCents: 100, currency: 'USD' })) : []));
    },
    async ordersOfUsers(userIds: readonly string[], request: { size: number }, status: OrderStatus | null) {
      calls.push(`ordersOfUsers:${userIds.length}:${status}`);
      return userIds.flatMap((userId) =>
        ORDERS.filter((o) => o.userId === userId && (status === null || o.status === status))
          .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())
          .slice(0, request.size + 1),
      );
    },
    async countOrdersOfUsers(userIds: readonly string[]) {
      calls.push(`count:${userIds.length}`);
      return new Map(userIds.map((userId) => [userId, ORDERS.filter((o) => o.userId === userId).length]));
    },
  };
}

describe('orders loaders', () => {
  it('batchItems: a list per order, empty for an order without lines', async () => {
    const repo = repository();
    const result = await batchItems(repo, [id(1), id(2), id(3)]);
    expect(result.map((items) => items.length)).toEqual([2, 0, 2]);
    expect(result[0]?.every((item) => item.orderId === id(1))).toBe(true);
    expect(repo.calls).toEqual(['itemsOfOrders:3']);
  });

  it('batchUserOrders: one statement per distinct argument set, a page per key in key order', async () => {
    const repo = repository();
    const keys: UserOrdersKey[] = [
      { userId: U2, first: 1 },
      { userId: U1, first: 1 },
      { userId: U3, first: 1 },
      { userId: U1, first: 5, status: 'PENDING' },
    ];
    const pages = await batchUserOrders(repo, keys);
    expect(repo.calls.sort()).toEqual(['ordersOfUsers:1:PENDING', 'ordersOfUsers:3:null']);
    const [u2, u1, u3, pending] = pages as Array<Exclude<(typeof pages)[number], Error>>;
    expect(u2!.edges.map((e) => e.node.id)).toEqual([id(5)]);
    expect(u2!.pageInfo.hasNextPage).toBe(true);
    expect(u1!.edges.map((e) => e.node.id)).toEqual([id(3)]);
    expect(u3!.edges).toEqual([]);
    expect(u3!.pageInfo.hasNextPage).toBe(false);
    expect(pending!.edges.map((e) => e.node.id)).toEqual([id(2)]);
    expect(await u1!.totalCount()).toBe(3);
    expect(await u2!.totalCount()).toBe(2);
    expect(repo.calls.filter((c) => c.startsWith('count'))).toEqual(['count:3']);
  });

  it('batchUserOrders: a bad argument fails only the keys that used it', async () => {
    const repo = repository();
    const foreign = encodeCursor('products:name:asc', ['x', id(1)]);
    const pages = await batchUserOrders(repo, [{ userId: U1, first: 101 }, { userId: U2, first: 2, after: foreign }, { userId: U1, first: 2 }]);
    expect(pages[0]).toBeInstanceOf(Error);
    expect(pages[1]).toBeInstanceOf(Error);
    expect((pages[0] as unknown as { extensions: { code: string } }).extensions.code).toBe('BAD_USER_INPUT');
    expect(pages[2]).not.toBeInstanceOf(Error);
    expect(repo.calls).toEqual(['ordersOfUsers:1:null']);
  });
});
