// The only file of the products subgraph that talks to Prisma.
import { randomUUID } from 'node:crypto';
import { type CountedConnection, keysetQuery, type KeysetOrder, type PageRequest } from '@commerce/shared';
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
}
