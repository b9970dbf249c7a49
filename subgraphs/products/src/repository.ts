// The only file of the products subgraph that talks to Prisma.
import { randomUUID } from 'node:crypto';
import { addToOutbox, type CountedConnection, type OutboxEvent, EVENT, keysetQuery, type KeysetOrder, markProcessed, type OrderPlaced, type PageRequest, type RawSql, type RawTransactions, type RejectionReason, type SagaLine, STOCK_EVENTS } from '@commerce/subgraph-kit';
import type { Prisma, PrismaClient, Product } from './generated/prisma/client.js';

export type ProductRow = Product;
export type ProductPage = CountedConnection<ProductRow>;

/** What a client may filter by, already validated (prices in minor units). */
export interface ProductFilterInput {
  category?: string | null;
  search?: string | null;
  minPriceCents?: number | null;
  maxPriceCents?: number | null;
  inStock?: boolean | null;
}

/** What an order event did here; `event` is the answer written to the outbox (to publish once committed). */
export type StockOutcome = { kind: 'reserved' | 'released'; productIds: string[]; event: OutboxEvent } | { kind: 'rejected'; event: OutboxEvent } | { kind: 'unchanged' };

export type ProductSortField = 'createdAt' | 'priceCents' | 'name';

export function productOrder(field: ProductSortField, direction: 'asc' | 'desc'): KeysetOrder<ProductSortField> {
  return { list: 'products', field, direction, type: field === 'createdAt' ? 'date' : field === 'priceCents' ? 'number' : 'string' };
}

function whereOf(filter: ProductFilterInput): Prisma.ProductWhereInput {
  const where: Prisma.ProductWhereInput = { deletedAt: null };
  if (filter.category != null) where.category = filter.category;
  if (filter.search != null && filter.search !== '') {
    where.OR = [
      { name: { contains: filter.search, mode: 'insensitive' } },
      { description: { contains: filter.search, mode: 'insensitive' } },
    ];
  }
  if (filter.minPriceCents != null || filter.maxPriceCents != null) {
    where.priceCents = { gte: filter.minPriceCents ?? undefined, lte: filter.maxPriceCents ?? undefined };
  }
  if (filter.inStock != null) where.stock = filter.inStock ? { gt: 0 } : { lte: 0 };
  return where;
}

export class ProductsRepository {
  /** `sql` sends reserve's statement (the database's DirectSql, without Prisma's client runtime); Prisma by default (unit tests). */
  constructor(
    private readonly prisma: PrismaClient,
    private readonly sql: RawSql = prisma as unknown as RawSql,
  ) {}

  /** Live (not deleted) products with these ids. */
  productsByIds(ids: readonly string[]): Promise<ProductRow[]> {
    return this.prisma.product.findMany({ where: { id: { in: [...ids] }, deletedAt: null } });
  }

  /** One page of matching products in the direction of travel, one row more than asked. */
  listProducts(filter: ProductFilterInput, order: KeysetOrder<ProductSortField>, request: PageRequest): Promise<ProductRow[]> {
    const page = keysetQuery(order, request);
    return this.prisma.product.findMany({ ...page, where: { AND: [whereOf(filter), page.where] } });
  }

  countProducts(filter: ProductFilterInput): Promise<number> {
    return this.prisma.product.count({ where: whereOf(filter) });
  }

  /** Throws Prisma's unique violation when the sku is taken. */
  createProduct(data: { sku: string; name: string; description: string; category: string; priceCents: number; stock: number }): Promise<ProductRow> {
    return this.prisma.product.create({ data: { id: randomUUID(), ...data } });
  }

  /** Applies the changes to a live product in one statement; null when there is none. */
  async updateProduct(id: string, changes: Partial<Pick<ProductRow, 'name' | 'description' | 'category' | 'priceCents' | 'stock'>>): Promise<ProductRow | null> {
    const { count } = await this.prisma.product.updateMany({ where: { id, deletedAt: null }, data: changes });
    return count === 0 ? null : this.prisma.product.findUnique({ where: { id } });
  }

  /** Soft delete: the row stays (orders refer to it) but reads and lists no longer show it. */
  async deleteProduct(id: string): Promise<ProductRow | null> {
    const { count } = await this.prisma.product.updateMany({ where: { id, deletedAt: null }, data: { deletedAt: new Date() } });
    return count === 0 ? null : this.prisma.product.findUnique({ where: { id } });
  }

  /** For the outbox relay (raw SQL in interactive transactions). */
  get raw(): RawTransactions & RawSql {
    return this.prisma as unknown as RawTransactions & RawSql;
  }

  /**
   * OrderPlaced, in one statement: the event's processed mark, then — unless it was applied before,
   * or the order was cancelled or decided already — the stock of every line or of none, the
   * reservation, and the answer in the outbox: StockReserved with the unit prices of this moment,
   * or StockRejected with the first line (in product id order) that cannot be had. The products'
   * rows are locked first, in id order (so two reservations never deadlock), and the verdict is
   * taken from their latest versions; the update then takes all lines or none, and a CHECK
   * constraint keeps stock from ever going negative behind it. A reservation that a concurrent
   * OrderCancelled got to first makes the statement fail on the reservation's key: nothing of it is
   * kept, and the redelivered event is then rejected as CANCELLED.
   */
  async reserve(eventId: string, event: OrderPlaced): Promise<StockOutcome> {
    const answerId = randomUUID();
    const sorted = [...event.lines].sort((a, b) => a.productId.localeCompare(b.productId));
    const rows = await this.sql.$queryRawUnsafe<Array<{ verdict: string; type: string | null; payload: Record<string, unknown> | string | null }>>(
      `WITH mark AS (
         INSERT INTO processed_events (event_id) VALUES ($1::text) ON CONFLICT DO NOTHING RETURNING event_id
       ), earlier AS (
         SELECT status::text AS status FROM reservations WHERE order_id = $2::uuid
       ), wanted AS (
         SELECT * FROM unnest($3::uuid[], $4::int[]) WITH ORDINALITY AS wanted(product_id, quantity, position)
       ), locked AS MATERIALIZED (
         SELECT id, stock, deleted_at, price_cents, currency FROM products
         WHERE id = ANY($3::uuid[]) AND EXISTS (SELECT 1 FROM mark) AND NOT EXISTS (SELECT 1 FROM earlier)
         ORDER BY id FOR UPDATE
       ), short AS (
         SELECT wanted.product_id,
                CASE WHEN locked.id IS NULL OR locked.deleted_at IS NOT NULL THEN 'PRODUCT_UNAVAILABLE' ELSE 'OUT_OF_STOCK' END AS reason
         FROM wanted LEFT JOIN locked ON locked.id = wanted.product_id
         WHERE locked.id IS NULL OR locked.deleted_at IS NOT NULL OR locked.stock < wanted.quantity
         ORDER BY wanted.product_id LIMIT 1
       ), verdict AS (
         SELECT CASE
           WHEN NOT EXISTS (SELECT 1 FROM mark) THEN 'unchanged'
           WHEN (SELECT status FROM earlier) = 'CANCELLED' THEN 'CANCELLED'
           WHEN EXISTS (SELECT 1 FROM earlier) THEN 'unchanged'
           WHEN EXISTS (SELECT 1 FROM short) THEN (SELECT reason FROM short)
           ELSE 'RESERVED' END AS verdict
       ), taken AS (
         UPDATE products SET stock = products.stock - wanted.quantity, updated_at = now()
         FROM wanted
         WHERE products.id = wanted.product_id AND (SELECT verdict FROM verdict) = 'RESERVED'
         RETURNING products.id, products.price_cents, products.currency
       ), reserved AS (
         INSERT INTO reservations (order_id, status, lines, created_at, updated_at)
         SELECT $2::uuid, 'RESERVED'::"ReservationStatus", $5::jsonb, now(), now() FROM verdict WHERE verdict = 'RESERVED'
       ), rejected AS (
         INSERT INTO reservations (order_id, status, lines, created_at, updated_at)
         SELECT $2::uuid, 'REJECTED'::"ReservationStatus", '[]'::jsonb, now(), now() FROM verdict WHERE verdict IN ('OUT_OF_STOCK', 'PRODUCT_UNAVAILABLE')
         ON CONFLICT (order_id) DO NOTHING
       ), answer AS (
         INSERT INTO outbox (id, stream, type, payload, created_at)
         SELECT $6::uuid, $7::text,
                CASE WHEN verdict = 'RESERVED' THEN $8::text ELSE $9::text END,
                CASE WHEN verdict = 'RESERVED'
                  THEN jsonb_build_object('orderId', $2::text, 'lines', (
                    SELECT jsonb_agg(jsonb_build_object('productId', line.product_id, 'quantity', line.quantity, 'unitPriceCents', taken.price_cents, 'currency', taken.currency) ORDER BY line.position)
                    FROM unnest($10::uuid[], $11::int[]) WITH ORDINALITY AS line(product_id, quantity, position) JOIN taken ON taken.id = line.product_id))
                  ELSE jsonb_build_object('orderId', $2::text, 'reason', verdict, 'productId', CASE WHEN verdict = 'CANCELLED' THEN NULL ELSE (SELECT product_id::text FROM short) END)
                END,
                clock_timestamp()
         FROM verdict WHERE verdict <> 'unchanged'
         RETURNING type, payload
       )
       SELECT verdict.verdict, answer.type, answer.payload FROM verdict LEFT JOIN answer ON true`,
      eventId,
      event.orderId,
      sorted.map((line) => line.productId),
      sorted.map((line) => line.quantity),
      JSON.stringify(sorted.map(({ productId, quantity }) => ({ productId, quantity }))),
      answerId,
      STOCK_EVENTS,
      EVENT.stockReserved,
      EVENT.stockRejected,
      // In the order the client placed them, so the order's lines and the prices line up.
      event.lines.map((line) => line.productId),
      event.lines.map((line) => line.quantity),
    );
    const row = rows[0];
    if (!row || row.verdict === 'unchanged' || !row.type || !row.payload) return { kind: 'unchanged' };
    const answer: OutboxEvent = { id: answerId, stream: STOCK_EVENTS, type: row.type, payload: typeof row.payload === 'string' ? (JSON.parse(row.payload) as Record<string, unknown>) : row.payload };
    return row.verdict === 'RESERVED' ? { kind: 'reserved', productIds: sorted.map((line) => line.productId), event: answer } : { kind: 'rejected', event: answer };
  }

  /**
   * OrderCancelled: gives back exactly what was reserved, once (the reservation moves from RESERVED
   * to RELEASED in the same statement that decides it). An order cancelled before its reservation
   * is marked CANCELLED here, so the OrderPlaced that arrives later is rejected, not reserved.
   */
  async release(eventId: string, orderId: string): Promise<StockOutcome> {
    return this.prisma.$transaction(async (tx) => {
      const raw = tx as unknown as RawSql;
      if (!(await markProcessed(raw, eventId))) return { kind: 'unchanged' } as const;
      const rows = await raw.$queryRawUnsafe<Array<{ lines: SagaLine[] | string }>>(
        `UPDATE reservations SET status = 'RELEASED', updated_at = now() WHERE order_id = $1::uuid AND status = 'RESERVED' RETURNING lines`,
        orderId,
      );
      if (rows.length === 0) {
        await tx.reservation.upsert({ where: { orderId }, create: { orderId, status: 'CANCELLED', lines: [] }, update: {} });
        return { kind: 'unchanged' } as const;
      }
      const lines = (typeof rows[0]!.lines === 'string' ? JSON.parse(rows[0]!.lines) : rows[0]!.lines) as SagaLine[];
      for (const line of [...lines].sort((a, b) => a.productId.localeCompare(b.productId))) {
        await raw.$executeRawUnsafe('UPDATE products SET stock = stock + $1, updated_at = now() WHERE id = $2::uuid', line.quantity, line.productId);
      }
      const answer = await addToOutbox(raw, { stream: STOCK_EVENTS, type: EVENT.stockReleased, payload: { orderId } });
      return { kind: 'released', productIds: lines.map((line) => line.productId), event: answer } as const;
    });
  }
}
