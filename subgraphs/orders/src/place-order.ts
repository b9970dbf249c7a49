// placeOrder, step by step: validate, honour the idempotency key, look the products up, write the
// PENDING order with its OrderPlaced event in one transaction, then wait a bounded time for the
// reservation's outcome. Expected refusals are userErrors and write nothing.
import { GraphQLError } from 'graphql';
import { isUniqueViolation, type OutboxEvent, parseInput, requireUser, type UserError, userError } from '@commerce/subgraph-kit';
import { CatalogUnavailableError, type ProductCatalog } from './catalog.js';
import type { Context } from './context.js';
import { MAX_QUANTITY, mergeLines, placeOrderInput, requestHash } from './inputs.js';
import type { OrderRow } from './repository.js';

export interface PlaceOrderResult {
  order: OrderRow | null;
  userErrors: UserError[];
}

const refused = (...userErrors: UserError[]): PlaceOrderResult => ({ order: null, userErrors });

/** `limitNew` throws RATE_LIMITED when the user has placed too many new orders lately. */
export async function placeOrder(input: unknown, context: Context & { catalog: ProductCatalog }, limitNew: () => Promise<void> = async () => {}): Promise<PlaceOrderResult> {
  // The wait is counted from here, so a slow write under load does not stretch the answer past
  // what the gateway waits for a subgraph.
  const deadline = Date.now() + context.saga.outcomeWaitMs;
  const viewer = requireUser(context.viewer);
  const parsed = parseInput(placeOrderInput, input);
  if (!parsed.ok) return refused(...parsed.userErrors);
  const lines = mergeLines(parsed.data.items);
  const tooMany = lines.find((line) => line.quantity > MAX_QUANTITY);
  if (tooMany) return refused(userError(['input', 'items'], `product ${tooMany.productId}: at most ${MAX_QUANTITY} units in all`, 'INVALID'));
  const key = parsed.data.idempotencyKey;
  const hash = requestHash(lines);

  const earlier = await context.repository.idempotencyKey(viewer.userId, key);
  if (earlier) return answerFor(earlier, hash, context, deadline);
  await limitNew();

  let products;
  try {
    products = await context.catalog.products(lines.map((line) => line.productId), { requestId: context.requestId, identityToken: context.forwardedIdentity });
  } catch (error) {
    if (!(error instanceof CatalogUnavailableError)) throw error;
    context.log.warn({ err: error.message }, 'placeOrder: products unavailable');
    throw new GraphQLError('Products cannot be checked right now; nothing was ordered. Try again shortly.', { extensions: { code: 'SUBGRAPH_UNAVAILABLE', subgraph: 'products' } });
  }
  const unknown = lines.flatMap((line, i) => (products[i] ? [] : [userError(['input', 'items', String(parsed.data.items.findIndex((item) => item.productId === line.productId)), 'productId'], `no product ${line.productId}`, 'NOT_FOUND')]));
  if (unknown.length > 0) return refused(...unknown);

  let placed: { order: OrderRow; event: OutboxEvent };
  try {
    placed = await context.repository.placeOrder(
      viewer.userId,
      key,
      hash,
      lines.map((line, i) => ({ productId: line.productId, quantity: line.quantity, productName: products[i]!.name, unitPriceCents: products[i]!.priceCents, currency: products[i]!.currency })),
    );
  } catch (error) {
    // The same key, placed by a concurrent call a moment ago: answer with that order.
    if (!isUniqueViolation(error)) throw error;
    const winner = await context.repository.idempotencyKey(viewer.userId, key);
    if (!winner) throw error;
    return answerFor(winner, hash, context, deadline);
  }
  const { order } = placed;
  // Not awaited: the answer need not wait for the bus (a slow one would hold it; the wait below
  // is bounded either way, and the relay's sweep publishes what this does not).
  void context.saga.publish(placed.event);
  await context.saga.purge(order);
  return { order: await settled(order.id, context, deadline), userErrors: [] };
}

async function answerFor(earlier: { requestHash: string; orderId: string }, hash: string, context: Context, deadline: number): Promise<PlaceOrderResult> {
  if (earlier.requestHash !== hash) return refused(userError(['input', 'idempotencyKey'], 'this key was used for a different order', 'IDEMPOTENCY_KEY_REUSED'));
  return { order: await settled(earlier.orderId, context, deadline), userErrors: [] };
}

/** The order once its outcome is known, or as it is at the deadline (PENDING). */
async function settled(orderId: string, context: Context, deadline: number): Promise<OrderRow | null> {
  await context.saga.outcome(orderId, Math.max(0, deadline - Date.now()));
  // Fresh from the database: the request's loader may have cached the PENDING row.
  context.loaders.order.clear(orderId);
  return context.repository.orderById(orderId);
}
