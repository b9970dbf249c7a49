// Per-request DataLoaders: one SQL statement per batch, one result per key, in key order.
import { cursorFor, decodeKeyset, entityTag, isUuid, listTag, manyByKey, pageRequest, type RequestCache, toConnection } from '@commerce/subgraph-kit';
import DataLoader from 'dataloader';
import type { OrderStatus } from './generated/prisma/client.js';
import { type OrderItemRow, type OrderPage, type OrderRow, type OrdersRepository, USER_ORDERS } from './repository.js';

/** One `User.orders` field: whose orders, and the field's arguments. */
export interface UserOrdersKey {
  userId: string;
  first?: number | null;
  after?: string | null;
  status?: OrderStatus | null;
}

export async function batchItems(repository: Pick<OrdersRepository, 'itemsOfOrders'>, orderIds: readonly string[]): Promise<OrderItemRow[][]> {
  const valid = orderIds.filter(isUuid);
  const rows = valid.length > 0 ? await repository.itemsOfOrders(valid) : [];
  return manyByKey(orderIds, rows, (row) => row.orderId);
}

/**
 * `User.orders` for many users: keys asking with the same arguments (the usual case: one field in
 * one query) share one statement; a page per key, in key order. A bad argument fails only its keys.
 */
export async function batchUserOrders(repository: Pick<OrdersRepository, 'ordersOfUsers' | 'countOrdersOfUsers'>, keys: readonly UserOrdersKey[]): Promise<Array<OrderPage | Error>> {
  const groups = new Map<string, number[]>();
  keys.forEach((key, i) => {
    const group = JSON.stringify([key.first ?? null, key.after ?? null, key.status ?? null]);
    groups.set(group, [...(groups.get(group) ?? []), i]);
  });
  const results: Array<OrderPage | Error> = new Array(keys.length);
  await Promise.all(
    [...groups.values()].map(async (indexes) => {
      const sample = keys[indexes[0] as number] as UserOrdersKey;
      const status = sample.status ?? null;
      try {
        const request = pageRequest({ first: sample.first, after: sample.after });
        const after = request.cursor === null ? null : decodeKeyset(USER_ORDERS, request.cursor);
        const userIds = [...new Set(indexes.map((i) => (keys[i] as UserOrdersKey).userId))].filter(isUuid);
        const rows = userIds.length > 0 ? await repository.ordersOfUsers(userIds, { size: request.size, after }, status) : [];
        const byUser = manyByKey(indexes.map((i) => (keys[i] as UserOrdersKey).userId), rows, (row) => row.userId);
        let counts: Promise<Map<string, number>> | undefined;
        indexes.forEach((keyIndex, n) => {
          const userId = (keys[keyIndex] as UserOrdersKey).userId;
          results[keyIndex] = {
            ...toConnection(byUser[n] as OrderRow[], request, (row) => cursorFor(USER_ORDERS, row)),
            // Counted once for the whole group, and only if a client selects totalCount.
            totalCount: async () => ((await (counts ??= repository.countOrdersOfUsers(userIds, status))).get(userId) ?? 0),
          };
        });
      } catch (error) {
        for (const i of indexes) results[i] = error as Error;
      }
    }),
  );
  return results;
}

/** The tag of one user's order list: placing or cancelling an order of theirs purges it. */
export const userOrdersTag = (userId: string): string => listTag('Order', `user:${userId}`);

export function createLoaders(repository: OrdersRepository, cache: RequestCache) {
  return {
    order: new DataLoader<string, OrderRow | null>((ids) => cache.rowsByIds('Order', ids, (valid) => repository.ordersByIds(valid))),
    // An order's lines are part of the order: they change with it, under its tag.
    itemsOfOrder: new DataLoader<string, OrderItemRow[]>((ids) => cache.read(ids.filter(isUuid).map((id) => entityTag('Order', id)), () => batchItems(repository, ids))),
    ordersOfUser: new DataLoader<UserOrdersKey, OrderPage, string>((keys) => {
      // Each statement concerns the lists of the users it reads (and the orders it returns): on a
      // replica only when that one has replayed every change to them.
      const lists = (userIds: readonly string[]) => userIds.map(userOrdersTag);
      return batchUserOrders({
        ordersOfUsers: (userIds, page, status) => cache.read(lists(userIds), () => repository.ordersOfUsers(userIds, page, status), (rows) => rows.map((row) => entityTag('Order', row.id))),
        countOrdersOfUsers: (userIds, status) => cache.read(lists(userIds), () => repository.countOrdersOfUsers(userIds, status)),
      }, keys);
    }, {
      cacheKeyFn: (key) => JSON.stringify([key.userId, key.first ?? null, key.after ?? null, key.status ?? null]),
    }),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
