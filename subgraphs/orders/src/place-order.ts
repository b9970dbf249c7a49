// placeOrder, step by step: validate, honour the idempotency key, look the products up, write the
// PENDING order with its OrderPlaced event in one statement, then wait a bounded time for the
// reservation's outcome. Expected refusals are userErrors and write nothing. Every wait is bounded
// by the caller's deadline (`x-deadline-ms`): what cannot be written before it is TRY_AGAIN, with
// nothing written, and an order written but not yet decided is answered PENDING before it.
import { GraphQLError } from 'graphql';
import { DeadlineExceededError, isDeadlineExceeded, withDeadline } from '@commerce/platform/deadline';
import { type OutboxEvent, parseInput, requireUser, type UserError, userError } from '@commerce/subgraph-kit';
import { CatalogUnavailableError, type ProductCatalog } from './catalog.js';
import type { Context } from './context.js';
import { MAX_QUANTITY, mergeLines, placeOrderInput, requestHash } from './inputs.js';
import type { OrderRow } from './repository.js';

export interface PlaceOrderResult {
  order: OrderRow | null;
  userErrors: UserError[];
}

const refused = (...userErrors: UserError[]): PlaceOrderResult => ({ order: null, userErrors });

/** Without a deadline from the caller (a direct call, a test), the request's work still ends by then. */
export const DEFAULT_DEADLINE_MS = 10_000;

/**
 * Nothing was written and the same request (same idempotency key) may be sent again: the deadline
 * came before the order could be committed.
 */
export const tryAgain = (): PlaceOrderResult =>
  refused(userError(null, 'The order could not be placed in time; nothing was ordered. Send the same request again (same idempotency key).', 'TRY_AGAIN'));

/** `limitNew` throws RATE_LIMITED when the user has placed too many new orders lately. */
export async function placeOrder(input: unknown, context: Context & { catalog: ProductCatalog }, limitNew: () => Promise<void> = async () => {}): Promise<PlaceOrderResult> {
  const deadline = context.deadline ?? Date.now() + DEFAULT_DEADLINE_MS;
  // Every wait below (a pool's connection, the products check, the outcome) ends by the deadline.
  return withDeadline(deadline, async () => {
    try {
      return await place(input, context, limitNew, deadline);
    } catch (error) {
      // Only raised before the order's statement was sent (a connection not had in time, the
      // products check cut short): nothing was written, so the same key may be sent again.
      if (isDeadlineExceeded(error)) return tryAgain();
      throw error;
    }
  });
}

async function place(input: unknown, context: Context & { catalog: ProductCatalog }, limitNew: () => Promise<void>, deadline: number): Promise<PlaceOrderResult> {
  // The outcome wait ends at PLACE_ORDER_WAIT_MS from here, or a fifth of the time left before
  // the deadline if that is sooner: under a burst, the waiters woken at once all have to get
  // their PENDING answers out in that time, on a busy event loop.
  const now = Date.now();
  const answerBy = Math.min(now + context.saga.outcomeWaitMs, deadline - Math.max(100, (deadline - now) / 5));
  const viewer = requireUser(context.viewer);
  const parsed = parseInput(placeOrderInput, input);
  if (!parsed.ok) return refused(...parsed.userErrors);
  const lines = mergeLines(parsed.data.items);
  const tooMany = lines.find((line) => line.quantity > MAX_QUANTITY);
  if (tooMany) return refused(userError(['input', 'items'], `product ${tooMany.productId}: at most ${MAX_QUANTITY} units in all`, 'INVALID'));
  const key = parsed.data.idempotencyKey;
  const hash = requestHash(lines);
  // Up to the write, PLACE_ORDER_CONCURRENCY calls at a time; one that cannot get its turn in time
  // is TRY_AGAIN at once. The outcome wait below holds no turn.
  const written = await context.placing.run(() => write(viewer.userId, key, hash, lines, parsed.data.items, context, limitNew, deadline));
  if ('refused' in written) return written.refused;
  if ('earlier' in written) return answerFor(written.earlier, hash, context, answerBy);
  const { order, event } = written.placed;
  // From here the order exists: whatever happens, the answer is that order (PENDING at worst).
  const outcome = context.saga.outcome(order.id, answerBy, order); // listening before the event leaves
  // Not awaited: the answer need not wait for the bus (a slow one would hold it; the wait below
  // is bounded either way, and the relay's sweep publishes what this does not).
  void context.saga.publish(event);
  await context.saga.purge(order);
  return { order: remember(await outcome, context), userErrors: [] };
}

type Written = { refused: PlaceOrderResult } | { earlier: { requestHash: string; orderId: string } } | { placed: { order: OrderRow; event: OutboxEvent } };

/** The idempotency key, the per-user limit, the products check and the write: everything that may still end in TRY_AGAIN. */
async function write(
  userId: string,
  key: string,
  hash: string,
  lines: ReturnType<typeof mergeLines>,
  items: ReadonlyArray<{ productId: string }>,
  context: Context & { catalog: ProductCatalog },
  limitNew: () => Promise<void>,
  deadline: number,
): Promise<Written> {
  const earlier = await context.repository.idempotencyKey(userId, key);
  if (earlier) return { earlier };
  await limitNew();

  let products;
  try {
    products = await context.catalog.products(lines.map((line) => line.productId), { requestId: context.requestId, identityToken: context.forwardedIdentity, deadline });
  } catch (error) {
    if (!(error instanceof CatalogUnavailableError)) throw error;
    if (error.reason === 'deadline' || error.reason === 'timeout') throw new DeadlineExceededError('checking the products');
    context.log.warn({ err: error.message }, 'placeOrder: products unavailable');
    throw new GraphQLError('Products cannot be checked right now; nothing was ordered. Try again shortly.', { extensions: { code: 'SUBGRAPH_UNAVAILABLE', subgraph: 'products' } });
  }
  const unknown = lines.flatMap((line, i) => (products[i] ? [] : [userError(['input', 'items', String(items.findIndex((item) => item.productId === line.productId)), 'productId'], `no product ${line.productId}`, 'NOT_FOUND')]));
  if (unknown.length > 0) return { refused: refused(...unknown) };

  // Not worth sending a write whose answer nobody will wait for.
  if (Date.now() >= deadline) throw new DeadlineExceededError('placing the order');
  const placed = await context.repository.placeOrder(
    userId,
    key,
    hash,
    lines.map((line, i) => ({ productId: line.productId, quantity: line.quantity, productName: products[i]!.name, unitPriceCents: products[i]!.priceCents, currency: products[i]!.currency })),
  );
  if (placed) return { placed };
  // The same key, placed by a concurrent call a moment ago: answer with that order.
  const winner = await context.repository.idempotencyKey(userId, key);
  if (!winner) throw new Error(`idempotency key ${key} is taken but cannot be read`);
  return { earlier: winner };
}

async function answerFor(earlier: { requestHash: string; orderId: string }, hash: string, context: Context, answerBy: number): Promise<PlaceOrderResult> {
  if (earlier.requestHash !== hash) return refused(userError(['input', 'idempotencyKey'], 'this key was used for a different order', 'IDEMPOTENCY_KEY_REUSED'));
  return { order: remember(await context.saga.outcome(earlier.orderId, answerBy), context), userErrors: [] };
}

/** The request's loader may have cached the order as PENDING: it answers with this row from now on. */
function remember(order: OrderRow | null, context: Context): OrderRow | null {
  if (order) context.loaders.order.clear(order.id).prime(order.id, order);
  return order;
}
