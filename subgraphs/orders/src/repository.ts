// The only file of the orders subgraph that talks to Prisma.
import { randomUUID } from 'node:crypto';
import { addToOutbox, type CountedConnection, type OutboxEvent, EVENT, type KeysetOrder, markProcessed, ORDER_EVENTS, type RawSql, type RawTransactions, type StockRejected, type StockReserved } from '@commerce/subgraph-kit';
import { currentDeadline, DeadlineExceededError, timeLeft, withLatestDeadline } from '@commerce/platform/deadline';
import { FreshBatches } from '@commerce/platform/fresh-batches';
import { within } from '@commerce/platform/within';
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

/** An order row as raw SQL returns it, in OrderRow's shape. */
const ORDER_COLUMNS = `id, user_id AS "userId", status::text AS status, total_cents AS "totalCents", currency, rejection_reason AS "rejectionReason", created_at AS "createdAt", updated_at AS "updatedAt"`;

/** Idempotency keys are kept at least this long (placeOrder's contract says 24 h). */
export const IDEMPOTENCY_KEEP_MS = 48 * 3600_000;

export class OrdersRepository {
  /** For the outbox relay and consumers (raw SQL, alone or in interactive transactions). */
  get raw(): RawTransactions & RawSql {
    return this.prisma as unknown as RawTransactions & RawSql;
  }

  /**
   * The keys of every placeOrder call looking at about the same time, in one statement
   * (fresh-batches.ts: none is answered from a read sent before it asked, so a key committed by a
   * concurrent call is seen by the look that follows its failed insert). Under a burst, a statement
   * per call was a quarter of the orders subgraph's SQL.
   */
  private readonly keys = new FreshBatches<string, IdempotencyRecord, number | undefined>(async (pairs, deadlines) => {
    const asked = pairs.map((pair) => JSON.parse(pair) as [string, string]);
    const rows = await withLatestDeadline(deadlines, () =>
      this.sql.$queryRawUnsafe<Array<IdempotencyRecord & { n: number }>>(
        `SELECT asked.n::int AS n, k.request_hash AS "requestHash", k.order_id::text AS "orderId"
         FROM unnest($1::uuid[], $2::text[]) WITH ORDINALITY AS asked(user_id, key, n)
         JOIN idempotency_keys k ON k.user_id = asked.user_id AND k.key = asked.key`,
        asked.map(([userId]) => userId),
        asked.map(([, key]) => key),
      ),
    );
    return new Map(rows.map(({ n, requestHash, orderId }) => [pairs[n - 1]!, { requestHash, orderId }]));
  });

  /**
   * `sql` sends the hot path's raw statements (the database's DirectSql: counted and deadline-bound
   * like the rest, without Prisma's client runtime around each); Prisma by default (unit tests).
   */
  constructor(
    private readonly prisma: PrismaClient,
    private readonly sql: RawSql = prisma as unknown as RawSql,
  ) {}

  /** The order an idempotency key was used for; waits no longer than the caller's deadline. */
  async idempotencyKey(userId: string, key: string): Promise<IdempotencyRecord | null> {
    const deadline = currentDeadline();
    const found = this.keys.load(JSON.stringify([userId, key]), deadline);
    return (await (deadline === undefined ? found : within(found, timeLeft(deadline), () => new DeadlineExceededError('looking up the idempotency key')))) ?? null;
  }

  /**
   * One statement (so one implicit transaction): the idempotency key, the PENDING order, all its
   * lines and its OrderPlaced event in the outbox. When the key is taken (a retry, or a concurrent
   * call with the same key that committed first) nothing is written and the answer is null.
   */
  async placeOrder(userId: string, key: string, hash: string, lines: readonly NewLine[]): Promise<{ order: OrderRow; event: OutboxEvent } | null> {
    const orderId = randomUUID();
    const currency = lines[0]?.currency ?? 'USD';
    const total = lines.reduce((sum, line) => sum + line.quantity * line.unitPriceCents, 0);
    const payload = { orderId, userId, lines: lines.map(({ productId, quantity }) => ({ productId, quantity })) };
    const event: OutboxEvent = { id: randomUUID(), stream: ORDER_EVENTS, type: EVENT.orderPlaced, payload };
    const rows = await this.sql.$queryRawUnsafe<OrderRow[]>(
      `WITH key AS (
         INSERT INTO idempotency_keys (user_id, key, request_hash, order_id, created_at) VALUES ($1::uuid, $2::text, $3::text, $4::uuid, now())
         ON CONFLICT DO NOTHING RETURNING order_id
       ), placed AS (
         INSERT INTO orders (id, user_id, status, total_cents, currency, created_at, updated_at)
         SELECT order_id, $1::uuid, 'PENDING'::"OrderStatus", $5::int, $6::text, now(), now() FROM key
         RETURNING ${ORDER_COLUMNS}
       ), items AS (
         INSERT INTO order_items (id, order_id, position, product_id, product_name, quantity, unit_price_cents, currency)
         SELECT line.id, placed.id, line.position - 1, line.product_id, line.product_name, line.quantity, line.unit_price_cents, line.currency
         FROM placed, unnest($7::uuid[], $8::uuid[], $9::text[], $10::int[], $11::int[], $12::text[]) WITH ORDINALITY
           AS line(id, product_id, product_name, quantity, unit_price_cents, currency, position)
       ), event AS (
         INSERT INTO outbox (id, stream, type, payload, created_at) SELECT $13::uuid, $14::text, $15::text, $16::jsonb, clock_timestamp() FROM placed
       )
       SELECT * FROM placed`,
      userId, key, hash, orderId, total, currency,
      lines.map(() => randomUUID()), lines.map((line) => line.productId), lines.map((line) => line.productName),
      lines.map((line) => line.quantity), lines.map((line) => line.unitPriceCents), lines.map((line) => line.currency),
      event.id, event.stream, event.type, JSON.stringify(payload),
    );
    return rows[0] ? { order: rows[0], event } : null;
  }

  /**
   * StockReserved, in one statement: the event is marked applied and a PENDING order becomes
   * CONFIRMED with the unit prices of the reservation on its lines and their total; anything else
   * (already decided, cancelled meanwhile) is left as it is. Null when the event was applied before
   * or changed nothing.
   */
  async confirm(eventId: string, event: StockReserved): Promise<OrderRow | null> {
    const total = event.lines.reduce((sum, line) => sum + line.quantity * line.unitPriceCents, 0);
    const rows = await this.sql.$queryRawUnsafe<OrderRow[]>(
      `WITH mark AS (
         INSERT INTO processed_events (event_id) VALUES ($1::text) ON CONFLICT DO NOTHING RETURNING event_id
       ), decided AS (
         UPDATE orders SET status = 'CONFIRMED', total_cents = $3::int, currency = $4::text, updated_at = now()
         WHERE id = $2::uuid AND status = 'PENDING' AND EXISTS (SELECT 1 FROM mark)
         RETURNING ${ORDER_COLUMNS}
       ), priced AS (
         UPDATE order_items item SET unit_price_cents = price.unit_price_cents, currency = price.currency
         FROM unnest($5::uuid[], $6::int[], $7::text[]) AS price(product_id, unit_price_cents, currency)
         WHERE item.order_id = (SELECT id FROM decided) AND item.product_id = price.product_id
       )
       SELECT * FROM decided`,
      eventId, event.orderId, total, event.lines[0]?.currency ?? 'USD',
      event.lines.map((line) => line.productId), event.lines.map((line) => line.unitPriceCents), event.lines.map((line) => line.currency),
    );
    return rows[0] ?? null;
  }

  /** StockRejected, in one statement: a PENDING order becomes REJECTED with the reason. */
  async reject(eventId: string, event: StockRejected): Promise<OrderRow | null> {
    const rows = await this.sql.$queryRawUnsafe<OrderRow[]>(
      `WITH mark AS (
         INSERT INTO processed_events (event_id) VALUES ($1::text) ON CONFLICT DO NOTHING RETURNING event_id
       )
       UPDATE orders SET status = 'REJECTED', rejection_reason = $3::text, updated_at = now()
       WHERE id = $2::uuid AND status = 'PENDING' AND EXISTS (SELECT 1 FROM mark)
       RETURNING ${ORDER_COLUMNS}`,
      eventId, event.orderId, event.reason,
    );
    return rows[0] ?? null;
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

  /** Orders by id in one statement (the saga's outcome polls, batched). */
  async ordersByIdsRaw(orderIds: readonly string[]): Promise<OrderRow[]> {
    return this.sql.$queryRawUnsafe<OrderRow[]>(`SELECT ${ORDER_COLUMNS} FROM orders WHERE id = ANY($1::uuid[])`, orderIds);
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
        SELECT ${Prisma.raw(ORDER_COLUMNS)}
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
