// The only file of the orders subgraph that talks to Prisma.
import { randomUUID } from 'node:crypto';
import { addToOutbox, type CountedConnection, type OutboxEvent, EVENT, type KeysetOrder, markProcessed, ORDER_EVENTS, type RawSql, type RawTransactions, type StockRejected, type StockReserved } from '@commerce/subgraph-kit';
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

/** A line as placed: the product's name and (provisional) price from the catalog at that moment. */
export interface NewLine {
  productId: string;
  productName: string;
  quantity: number;
  unitPriceCents: number;
  currency: string;
}

export interface IdempotencyRecord {
  requestHash: string;
  orderId: string;
}

/** Idempotency keys are kept at least this long (placeOrder's contract says 24 h). */
export const IDEMPOTENCY_KEEP_MS = 48 * 3600_000;

export class OrdersRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /** For the outbox relay and consumers (raw SQL, alone or in interactive transactions). */
  get raw(): RawTransactions & RawSql {
    return this.prisma as unknown as RawTransactions & RawSql;
  }

  async idempotencyKey(userId: string, key: string): Promise<IdempotencyRecord | null> {
    return this.prisma.idempotencyKey.findUnique({ where: { userId_key: { userId, key } }, select: { requestHash: true, orderId: true } });
  }

  /**
   * One transaction: the idempotency key, the PENDING order with its lines, and its OrderPlaced
   * event in the outbox. A concurrent call with the same key loses on the key's primary key
   * (a unique violation, P2002) and nothing of it is written.
   */
  async placeOrder(userId: string, key: string, hash: string, lines: readonly NewLine[]): Promise<{ order: OrderRow; event: OutboxEvent }> {
    const orderId = randomUUID();
    const currency = lines[0]?.currency ?? 'USD';
    return this.prisma.$transaction(async (tx) => {
      await tx.idempotencyKey.create({ data: { userId, key, requestHash: hash, orderId } });
      const order = await tx.order.create({
        data: {
          id: orderId,
          userId,
          status: 'PENDING',
          currency,
          totalCents: lines.reduce((sum, line) => sum + line.quantity * line.unitPriceCents, 0),
          items: { create: lines.map((line, position) => ({ id: randomUUID(), position, ...line })) },
        },
      });
      const payload = { orderId, userId, lines: lines.map(({ productId, quantity }) => ({ productId, quantity })) };
      return { order, event: await addToOutbox(tx as unknown as RawSql, { stream: ORDER_EVENTS, type: EVENT.orderPlaced, payload }) };
    });
  }

  /**
   * StockReserved: a PENDING order becomes CONFIRMED with the unit prices of the reservation and
   * their total; anything else (already decided, cancelled meanwhile) is left as it is. Null when
   * the event was applied before or changed nothing.
   */
  async confirm(eventId: string, event: StockReserved): Promise<OrderRow | null> {
    return this.prisma.$transaction(async (tx) => {
      if (!(await markProcessed(tx as unknown as RawSql, eventId))) return null;
      const total = event.lines.reduce((sum, line) => sum + line.quantity * line.unitPriceCents, 0);
      const { count } = await tx.order.updateMany({ where: { id: event.orderId, status: 'PENDING' }, data: { status: 'CONFIRMED', totalCents: total, currency: event.lines[0]?.currency ?? 'USD' } });
      if (count === 0) return null;
      for (const line of event.lines) {
        await tx.orderItem.updateMany({ where: { orderId: event.orderId, productId: line.productId }, data: { unitPriceCents: line.unitPriceCents, currency: line.currency } });
      }
      return tx.order.findUnique({ where: { id: event.orderId } });
    });
  }

  /** StockRejected: a PENDING order becomes REJECTED with the reason. */
  async reject(eventId: string, event: StockRejected): Promise<OrderRow | null> {
    return this.prisma.$transaction(async (tx) => {
      if (!(await markProcessed(tx as unknown as RawSql, eventId))) return null;
      const { count } = await tx.order.updateMany({ where: { id: event.orderId, status: 'PENDING' }, data: { status: 'REJECTED', rejectionReason: event.reason } });
      return count === 0 ? null : tx.order.findUnique({ where: { id: event.orderId } });
    });
  }

  /** A PENDING or CONFIRMED order becomes CANCELLED, with OrderCancelled in the outbox; null if it was neither. */
  async cancel(orderId: string): Promise<{ order: OrderRow; event: OutboxEvent } | null> {
    return this.prisma.$transaction(async (tx) => {
      const { count } = await tx.order.updateMany({ where: { id: orderId, status: { in: ['PENDING', 'CONFIRMED'] } }, data: { status: 'CANCELLED' } });
      if (count === 0) return null;
      const event = await addToOutbox(tx as unknown as RawSql, { stream: ORDER_EVENTS, type: EVENT.orderCancelled, payload: { orderId } });
      return { order: (await tx.order.findUnique({ where: { id: orderId } })) as OrderRow, event };
    });
  }

  orderById(orderId: string): Promise<OrderRow | null> {
    return this.prisma.order.findUnique({ where: { id: orderId } });
  }

  async orderStatus(orderId: string): Promise<OrderStatus | null> {
    return (await this.prisma.order.findUnique({ where: { id: orderId }, select: { status: true } }))?.status ?? null;
  }

  /** Keys older than the promise are forgotten (a retry after that places a new order). */
  async forgetIdempotencyKeys(olderThan: Date): Promise<number> {
    return (await this.prisma.idempotencyKey.deleteMany({ where: { createdAt: { lt: olderThan } } })).count;
  }

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
               o.rejection_reason AS "rejectionReason", o.created_at AS "createdAt", o.updated_at AS "updatedAt"
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
