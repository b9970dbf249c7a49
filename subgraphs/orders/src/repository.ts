// The only file of the orders subgraph that talks to Prisma.
import type { CountedConnection, KeysetOrder } from '@commerce/shared';
import { Prisma, type Order, type OrderItem, type OrderStatus, type PrismaClient } from './generated/prisma/client.js';

export type OrderRow = Order;
export type OrderItemRow = OrderItem;
export type OrderPage = CountedConnection<OrderRow>;
/** A user as this subgraph knows one: only its id (users owns the rest). */
export interface UserReference { id: string }

/** A decoded keyset cursor: the last row's sort value and id. */
export interface Keyset { value: Date | number | string; id: string }

/** A user's orders: newest first, ties broken by id. */
export const USER_ORDERS: KeysetOrder<'createdAt'> = { list: 'orders', field: 'createdAt', type: 'date', direction: 'desc' };

export class OrdersRepository {
  constructor(private readonly prisma: PrismaClient) {}

  ordersByIds(ids: readonly string[]): Promise<OrderRow[]> {
    return this.prisma.order.findMany({ where: { id: { in: [...ids] } } });
  }

  itemsOfOrders(orderIds: readonly string[]): Promise<OrderItemRow[]> {
    return this.prisma.orderItem.findMany({ where: { orderId: { in: [...orderIds] } }, orderBy: [{ orderId: 'asc' }, { position: 'asc' }] });
  }

  /**
   * The first page (size + 1 rows) of each user's orders, for all users in ONE statement: a LATERAL
   * join walks the (user_id, created_at, id) index once per user, whatever the number of users.
   */
  ordersOfUsers(userIds: readonly string[], page: { size: number; after: Keyset | null }, status: OrderStatus | null): Promise<OrderRow[]> {
    const cursor = page.after;
    const byStatus = status === null ? Prisma.empty : Prisma.sql`AND o.status = ${status}::"OrderStatus"`;
    const after = cursor === null ? Prisma.empty : Prisma.sql`AND (o.created_at, o.id) < (${cursor.value}::timestamptz, ${cursor.id}::uuid)`;
    return this.prisma.$queryRaw<OrderRow[]>`
      SELECT page.* FROM unnest(${[...userIds]}::uuid[]) AS parent(id)
      CROSS JOIN LATERAL (
        SELECT o.id, o.user_id AS "userId", o.status::text AS status, o.total_cents AS "totalCents", o.currency,
               o.created_at AS "createdAt", o.updated_at AS "updatedAt"
        FROM orders o
        WHERE o.user_id = parent.id ${byStatus} ${after}
        ORDER BY o.created_at DESC, o.id DESC
        LIMIT ${page.size + 1}
      ) AS page`;
  }

  /** How many orders each user has (optionally in one status), in one statement. */
  async countOrdersOfUsers(userIds: readonly string[], status: OrderStatus | null): Promise<Map<string, number>> {
    const rows = await this.prisma.order.groupBy({
      by: ['userId'],
      where: { userId: { in: [...userIds] }, ...(status === null ? {} : { status }) },
      _count: { _all: true },
    });
    return new Map(rows.map((row) => [row.userId, row._count._all]));
  }
}
