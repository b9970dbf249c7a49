// Thin resolvers: unpack arguments, call a loader or the repository.
import {
  badUserInput, cursorFor, DateTime, isUniqueViolation, isUuid, money, pageRequest, parseAmount, parseInput, requireAdmin, toConnection, userError,
} from '@commerce/shared';
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

export const resolvers: Resolvers = {
  DateTime,
  Query: {
    product: (_parent, { id }, { loaders }) => loaders.product.load(id),
    products: async (_parent, { filter, orderBy, ...page }, { repository }) => {
      const request = pageRequest(page);
      const where = filterOf(filter);
      const order = productOrder(SORT_FIELDS[orderBy?.field ?? 'CREATED_AT'], orderBy?.direction === 'DESC' ? 'desc' : 'asc');
      const rows = await repository.listProducts(where, order, request);
      return { ...toConnection(rows, request, (row) => cursorFor(order, row)), totalCount: () => repository.countProducts(where) };
    },
  },
  Mutation: {
    createProduct: async (_parent, { input }, { viewer, repository }) => {
      requireAdmin(viewer);
      const parsed = parseInput(createProductInput, input);
      if (!parsed.ok) return { product: null, userErrors: parsed.userErrors };
      const { price, ...rest } = parsed.data;
      try {
        return { product: await repository.createProduct({ ...rest, priceCents: price }), userErrors: [] };
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        return { product: null, userErrors: [userError(['input', 'sku'], 'A product with this sku exists.', 'TAKEN')] };
      }
    },
    updateProduct: async (_parent, { id, input }, { viewer, repository }) => {
      requireAdmin(viewer);
      const parsed = parseInput(updateProductInput, input);
      if (!parsed.ok) return { product: null, userErrors: parsed.userErrors };
      const { price, ...rest } = parsed.data;
      const product = isUuid(id) ? await repository.updateProduct(id, { ...rest, ...(price === undefined ? {} : { priceCents: price }) }) : null;
      return product ? { product, userErrors: [] } : { product: null, userErrors: [NO_SUCH_PRODUCT] };
    },
    deleteProduct: async (_parent, { id }, { viewer, repository }) => {
      requireAdmin(viewer);
      const product = isUuid(id) ? await repository.deleteProduct(id) : null;
      return product ? { product, userErrors: [] } : { product: null, userErrors: [NO_SUCH_PRODUCT] };
    },
  },
  Product: {
    __resolveReference: (reference, { loaders }) => loaders.product.load(reference.id),
    price: (product) => money(product.priceCents, product.currency),
  },
};
