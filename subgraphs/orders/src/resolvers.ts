// Thin resolvers: unpack arguments, call a loader or the repository.
import { DateTime, money } from '@commerce/shared';
import type { Resolvers } from './generated/resolvers-types.js';

export const resolvers: Resolvers = {
  DateTime,
  Query: {
    order: (_parent, { id }, { loaders }) => loaders.order.load(id),
  },
  Order: {
    __resolveReference: (reference, { loaders }) => loaders.order.load(reference.id),
    user: (order) => ({ id: order.userId }),
    items: (order, _args, { loaders }) => loaders.itemsOfOrder.load(order.id),
    total: (order) => money(order.totalCents, order.currency),
  },
  OrderItem: {
    product: (item) => ({ id: item.productId }),
    unitPrice: (item) => money(item.unitPriceCents, item.currency),
  },
  User: {
    __resolveReference: (reference) => ({ id: reference.id }),
    orders: (user, args, { loaders }) => loaders.ordersOfUser.load({ userId: user.id, ...args }),
  },
};
