// The order saga's events: what orders and products tell each other over the bus. Streams are
// named after their writer: orders writes `orders`, products writes `stock`. Each payload has a
// zod schema, and consumers parse what they take off the bus with it (`payloadOf`): the bus is a
// boundary like any other (another version of a service, a hand-written XADD, a bug), and a
// consumer must not act on half an event.
import { z } from 'zod';

export const ORDER_EVENTS = 'orders';
export const STOCK_EVENTS = 'stock';

const uuid = z.string().uuid();
const sagaLine = z.object({ productId: uuid, quantity: z.number().int().positive() });

const orderPlaced = z.object({ orderId: uuid, userId: uuid, lines: z.array(sagaLine).min(1) });
const orderCancelled = z.object({ orderId: uuid });
const stockReserved = z.object({
  orderId: uuid,
  lines: z.array(sagaLine.extend({ unitPriceCents: z.number().int().nonnegative(), currency: z.string().regex(/^[A-Z]{3}$/) })).min(1),
});
const rejectionReason = z.enum(['OUT_OF_STOCK', 'PRODUCT_UNAVAILABLE', 'CANCELLED']);
const stockRejected = z.object({ orderId: uuid, reason: rejectionReason, productId: uuid.nullable() });
const stockReleased = z.object({ orderId: uuid });

export type SagaLine = z.infer<typeof sagaLine>;
/** orders → products: reserve these lines for the order (all or nothing). */
export type OrderPlaced = z.infer<typeof orderPlaced>;
/** orders → products: give back what was reserved for the order (if anything was). */
export type OrderCancelled = z.infer<typeof orderCancelled>;
/** products → orders: reserved; the unit prices of that moment, which the order keeps. */
export type StockReserved = z.infer<typeof stockReserved>;
export type RejectionReason = z.infer<typeof rejectionReason>;
/** products → orders: nothing reserved. */
export type StockRejected = z.infer<typeof stockRejected>;
/** products → orders: a cancelled order's stock is back (informational). */
export type StockReleased = z.infer<typeof stockReleased>;

export const EVENT = {
  orderPlaced: 'OrderPlaced',
  orderCancelled: 'OrderCancelled',
  stockReserved: 'StockReserved',
  stockRejected: 'StockRejected',
  stockReleased: 'StockReleased',
} as const;

/** Each event type's payload schema. */
export const EVENT_SCHEMAS = {
  [EVENT.orderPlaced]: orderPlaced,
  [EVENT.orderCancelled]: orderCancelled,
  [EVENT.stockReserved]: stockReserved,
  [EVENT.stockRejected]: stockRejected,
  [EVENT.stockReleased]: stockReleased,
} as const;

type EventType = keyof typeof EVENT_SCHEMAS;

/**
 * The payload of an event of `type`, parsed; null when it does not match its schema, after
 * `onInvalid` is told why (the consumer then acknowledges it: no redelivery can make it valid).
 */
export function payloadOf<T extends EventType>(type: T, event: { id: string; payload: unknown }, onInvalid: (problem: string) => void): z.infer<(typeof EVENT_SCHEMAS)[T]> | null {
  const parsed = EVENT_SCHEMAS[type].safeParse(event.payload);
  if (parsed.success) return parsed.data as z.infer<(typeof EVENT_SCHEMAS)[T]>;
  onInvalid(`${type} ${event.id}: ${parsed.error.issues.map((issue) => `${issue.path.join('.') || '(payload)'}: ${issue.message}`).join('; ')}`);
  return null;
}
