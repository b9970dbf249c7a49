// Thin resolvers: unpack arguments, call a loader or the repository.
import { DateTime, money, requireSelfOrAdmin, type Viewer } from '@commerce/subgraph-kit';
import type { RejectionReason, Resolvers } from './generated/resolvers-types.js';
import type { OrderRow } from './repository.js';
import { placeOrder } from './place-order.js';
import { isUuid, userError } from '@commerce/subgraph-kit';

/** An order is its owner's and the admins' to see, however it is reached (query, entity, list). */
function visible(order: OrderRow | null, viewer: Viewer | null): OrderRow | null {
  if (order) requireSelfOrAdmin(viewer, order.userId);
  return order;
}

/** New orders per user, on every replica together (retries of an order already placed are free). */
export const PLACE_ORDER_LIMIT = { max: 30, window: '1m' } as const;

export const resolvers: Resolvers = {
  DateTime,
  Query: {
    order: async (_parent, { id }, { loaders, viewer }) => visible(await loaders.order.load(id), viewer),
  },
  Mutation: {
    placeOrder: (_parent, args, context, info) => placeOrder(args.input, context, () => context.limitField(info, PLACE_ORDER_LIMIT)),
    cancelOrder: async (_parent, { id }, { viewer, loaders, repository, saga }) => {
      const order = isUuid(id) ? await loaders.order.load(id) : null;
      if (!order) return { order: null, userErrors: [userError(['id'], `no order ${id}`, 'NOT_FOUND')] };
      requireSelfOrAdmin(viewer, order.userId);
      const cancelled = await repository.cancel(order.id);
      if (!cancelled) return { order: null, userErrors: [userError(['id'], `a ${order.status} order cannot be cancelled`, 'NOT_CANCELLABLE')] };
      void saga.publish(cancelled.event); // not awaited, as in placeOrder
      await saga.purge(cancelled.order);
      return { order: cancelled.order, userErrors: [] };
    },
  },
  Order: {
    __resolveReference: async (reference, { loaders, viewer }) => visible(await loaders.order.load(reference.id), viewer),
    user: (order) => ({ id: order.userId }),
    items: (order, _args, { loaders }) => loaders.itemsOfOrder.load(order.id),
    total: (order) => money(order.totalCents, order.currency),
    rejectionReason: (order) => (order.status === 'REJECTED' ? (order.rejectionReason as RejectionReason | null) : null),
  },
  OrderItem: {
    product: (item) => ({ id: item.productId }),
    unitPrice: (item) => money(item.unitPriceCents, item.currency),
  },
  User: {
    __resolveReference: (reference) => ({ id: reference.id }),
    orders: (user, args, { loaders, viewer }) => {
      requireSelfOrAdmin(viewer, user.id);
      return loaders.ordersOfUser.load({ userId: user.id, ...args });
    },
  },
};
