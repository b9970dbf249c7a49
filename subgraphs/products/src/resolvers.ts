// Thin resolvers: unpack arguments, call a loader or the repository.
import {
  badUserInput, catalogTag, cursorFor, DateTime, entityTag, listTag, isUniqueViolation, isUuid, money, pageRequest, parseAmount, parseInput, requireAdmin, toConnection, userError,
} from '@commerce/subgraph-kit';
import { createProductInput, updateProductInput } from './inputs.js';
import type { ProductFilter, ProductOrderField, Resolvers } from './generated/resolvers-types.js';
import { type ProductFilterInput, productOrder, type ProductSortField } from './repository.js';

const SORT_FIELDS: Record<ProductOrderField, ProductSortField> = { CREATED_AT: 'createdAt', PRICE: 'priceCents', NAME: 'name' };

function filterOf(filter: ProductFilter | null | undefined): ProductFilterInput {
  if (!filter) return {};
  const minPriceCents = filter.minPrice == null ? null : parseAmount(filter.minPrice, 'filter.minPrice');
  const maxPriceCents = filter.maxPrice == null ? null : parseAmount(filter.maxPrice, 'filter.maxPrice');
  if (filter.search != null && filter.search.length > 100) throw badUserInput('`filter.search` must be at most 100 characters.', { argument: 'filter.search' });
  return { category: filter.category, search: filter.search?.trim(), minPriceCents, maxPriceCents, inStock: filter.inStock };
}

const NO_SUCH_PRODUCT = userError(['id'], 'No product has this id.', 'NOT_FOUND');

/** Free-text search scans names and descriptions: at most this often per client, on every replica together. */
export const SEARCH_LIMIT = { max: 60, window: '1m' } as const;

/** Every product list; lists filtered by stock also carry STOCK_LISTS, so a stock change purges only those. */
const PRODUCT_LISTS = listTag('Product');
const STOCK_LISTS = listTag('Product', 'stock');

const productTags = (rows: ReadonlyArray<{ id: string }>) => rows.map((row) => entityTag('Product', row.id));

/** Everything built from a product: itself, what orders keeps of it (its catalog tag), every product list. */
const everythingOf = (id: string) => [entityTag('Product', id), catalogTag('Product', id), PRODUCT_LISTS];

/** What a change to a product makes stale: all of it, or for a change of stock alone the product and the stock-filtered lists. */
function changedBy(id: string, changes: Record<string, unknown>): string[] {
  const onlyStock = Object.keys(changes).every((field) => field === 'stock');
  return onlyStock ? [entityTag('Product', id), STOCK_LISTS] : everythingOf(id);
}

export const resolvers: Resolvers = {
  DateTime,
  Query: {
    product: (_parent, { id }, { loaders }) => loaders.product.load(id),
    products: async (_parent, args, { repository, cache, limitField }, info) => {
      const { filter, orderBy, ...page } = args;
      if (filter?.search) await limitField(info, SEARCH_LIMIT);
      const request = pageRequest(page);
      const where = filterOf(filter);
      const order = productOrder(SORT_FIELDS[orderBy?.field ?? 'CREATED_AT'], orderBy?.direction === 'DESC' ? 'desc' : 'asc');
      const lists = [PRODUCT_LISTS, ...(where.inStock == null ? [] : [STOCK_LISTS])];
      // The list's tags and its rows' (a row changed without its list's tag being purged).
      const rows = await cache.read(lists, () => repository.listProducts(where, order, request), productTags);
      return { ...toConnection(rows, request, (row) => cursorFor(order, row)), totalCount: () => cache.read(lists, () => repository.countProducts(where)) };
    },
  },
  Mutation: {
    createProduct: async (_parent, { input }, { viewer, repository, cache }) => {
      requireAdmin(viewer);
      const parsed = parseInput(createProductInput, input);
      if (!parsed.ok) return { product: null, userErrors: parsed.userErrors };
      const { price, ...rest } = parsed.data;
      try {
        const product = await repository.createProduct({ ...rest, priceCents: price });
        // Its own tag too: nothing cached carries it yet, but a read replica that has not replayed
        // the insert must not answer for it ("no such product" right after it was created).
        await cache.purge([entityTag('Product', product.id), PRODUCT_LISTS]);
        return { product, userErrors: [] };
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        return { product: null, userErrors: [userError(['input', 'sku'], 'A product with this sku exists.', 'TAKEN')] };
      }
    },
    updateProduct: async (_parent, { id, input }, { viewer, repository, cache }) => {
      requireAdmin(viewer);
      const parsed = parseInput(updateProductInput, input);
      if (!parsed.ok) return { product: null, userErrors: parsed.userErrors };
      const { price, ...rest } = parsed.data;
      const changes = { ...rest, ...(price === undefined ? {} : { priceCents: price }) };
      const product = isUuid(id) ? await repository.updateProduct(id, changes) : null;
      if (product) await cache.purge(changedBy(id, changes));
      return product ? { product, userErrors: [] } : { product: null, userErrors: [NO_SUCH_PRODUCT] };
    },
    deleteProduct: async (_parent, { id }, { viewer, repository, cache }) => {
      requireAdmin(viewer);
      const product = isUuid(id) ? await repository.deleteProduct(id) : null;
      if (product) await cache.purge(everythingOf(id));
      return product ? { product, userErrors: [] } : { product: null, userErrors: [NO_SUCH_PRODUCT] };
    },
  },
  Product: {
    __resolveReference: (reference, { loaders }) => loaders.product.load(reference.id),
    price: (product) => money(product.priceCents, product.currency),
  },
};
