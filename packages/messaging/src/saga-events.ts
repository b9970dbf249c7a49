// The order saga's events: what orders and products tell each other over the bus. Streams are
// named after their writer: orders writes `orders`, products writes `stock`.
export const ORDER_EVENTS = 'orders';
export const STOCK_EVENTS = 'stock';

export interface SagaLine {
  productId: string;
  quantity: number;
}

/** orders → products: reserve these lines for the order (all or nothing). */
export interface OrderPlaced {
  orderId: string;
  userId: string;
  lines: SagaLine[];
}

/** orders → products: give back what was reserved for the order (if anything was). */
export interface OrderCancelled {
  orderId: string;
}

/** products → orders: reserved; the unit prices of that moment, which the order keeps. */
export interface StockReserved {
  orderId: string;
  lines: Array<SagaLine & { unitPriceCents: number; currency: string }>;
}

export type RejectionReason = 'OUT_OF_STOCK' | 'PRODUCT_UNAVAILABLE' | 'CANCELLED';

/** products → orders: nothing reserved. */
export interface StockRejected {
  orderId: string;
  reason: RejectionReason;
  productId: string | null;
}

/** products → orders: a cancelled order's stock is back (informational). */
export interface StockReleased {
  orderId: string;
}

export const EVENT = {
  orderPlaced: 'OrderPlaced',
  orderCancelled: 'OrderCancelled',
  stockReserved: 'StockReserved',
  stockRejected: 'StockRejected',
  stockReleased: 'StockReleased',
} as const;
