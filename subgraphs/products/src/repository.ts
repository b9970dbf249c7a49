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

/** What a reservation attempt did: the products whose stock changed, if any. */
/** What an order event did here; `event` is the answer written to the outbox (to publish once committed). */
export type StockOutcome = { kind: 'reserved' | 'released'; productIds: string[]; event: OutboxEvent } | { kind: 'rejected'; event: OutboxEvent } | { kind: 'unchanged' };

class Rejected extends Error {
  constructor(readonly reason: RejectionReason, readonly productId: string | null) {
    super(reason);
  }
}

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
  constructor(private readonly prisma: PrismaClient) {}

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
   * OrderPlaced: takes the stock of every line or of none, with conditional updates that can never
   * make stock negative (and a CHECK constraint behind them), records the reservation and answers
   * StockReserved (with the unit prices of this moment) or StockRejected in the outbox, all in one
   * transaction with the event's processed mark. Lines are locked in product id order, so two
   * reservations never deadlock.
   */
  async reserve(eventId: string, event: OrderPlaced): Promise<StockOutcome> {
    const lines = [...event.lines].sort((a, b) => a.productId.localeCompare(b.productId));
    try {
      return await this.prisma.$transaction(async (tx) => {
        const raw = tx as unknown as RawSql;
        if (!(await markProcessed(raw, eventId))) return { kind: 'unchanged' } as const;
        const earlier = await tx.reservation.findUnique({ where: { orderId: event.orderId } });
        if (earlier?.status === 'CANCELLED') throw new Rejected('CANCELLED', null);
        if (earlier) return { kind: 'unchanged' } as const; // decided by an earlier event for this order
        const priced: Array<SagaLine & { unitPriceCents: number; currency: string }> = [];
        for (const line of lines) {
          const rows = await raw.$queryRawUnsafe<Array<{ priceCents: number; currency: string }>>(
            'UPDATE products SET stock = stock - $1, updated_at = now() WHERE id = $2::uuid AND deleted_at IS NULL AND stock >= $1 RETURNING price_cents AS "priceCents", currency',
            line.quantity,
            line.productId,
          );
          if (rows.length === 0) {
            const product = await tx.product.findUnique({ where: { id: line.productId }, select: { deletedAt: true } });
            throw new Rejected(product && !product.deletedAt ? 'OUT_OF_STOCK' : 'PRODUCT_UNAVAILABLE', line.productId);
          }
          priced.push({ ...line, unitPriceCents: rows[0]!.priceCents, currency: rows[0]!.currency });
        }
        await tx.reservation.create({ data: { orderId: event.orderId, status: 'RESERVED', lines: lines.map(({ productId, quantity }) => ({ productId, quantity })) } });
        // In the order the client placed them, so the order's lines and the prices line up.
        const byProduct = new Map(priced.map((line) => [line.productId, line]));
        const answer = await addToOutbox(raw, { stream: STOCK_EVENTS, type: EVENT.stockReserved, payload: { orderId: event.orderId, lines: event.lines.map((line) => byProduct.get(line.productId)) } });
        return { kind: 'reserved', productIds: lines.map((line) => line.productId), event: answer } as const;
      });
    } catch (error) {
      if (!(error instanceof Rejected)) throw error;
      // Everything above was rolled back; the refusal is recorded on its own.
      return this.prisma.$transaction(async (tx) => {
        const raw = tx as unknown as RawSql;
        if (!(await markProcessed(raw, eventId))) return { kind: 'unchanged' } as const;
        await tx.reservation.upsert({ where: { orderId: event.orderId }, create: { orderId: event.orderId, status: 'REJECTED', lines: [] }, update: {} });
        const answer = await addToOutbox(raw, { stream: STOCK_EVENTS, type: EVENT.stockRejected, payload: { orderId: event.orderId, reason: error.reason, productId: error.productId } });
        return { kind: 'rejected', event: answer } as const;
      });
    }
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
