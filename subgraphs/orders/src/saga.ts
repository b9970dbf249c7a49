// orders' side of the order saga: the outbox relay that publishes OrderPlaced / OrderCancelled,
// the consumer of products' answers (StockReserved → CONFIRMED, StockRejected → REJECTED), and
// the wait placeOrder does for that answer. Every state change purges the order's cache tags
// after its transaction commits.
import { EventEmitter } from 'node:events';
import { currentDeadline, isDeadlineExceeded, withLatestDeadline } from '@commerce/platform/deadline';
import { FreshBatches } from '@commerce/platform/fresh-batches';
import { consume, entityTag, EVENT, type EventBus, type Logger, type OutboxEvent, payloadOf, type SagaConfig, STOCK_EVENTS, startRelay, type SubgraphCache } from '@commerce/subgraph-kit';
import { userOrdersTag } from './loaders.js';
import type { OrderRow, OrdersRepository } from './repository.js';

export interface OrderSaga {
  /** After the transaction that wrote it has committed: publish the event now (never throws). */
  publish(event: OutboxEvent): Promise<void>;
  /**
   * The order once it has left PENDING (decided here or on another replica), or as last seen at
   * `until` (epoch ms; PENDING). `pending`: the row just written (no one can have decided it yet,
   * so nothing is read before the first poll). Null when there is no such order.
   */
  outcome(orderId: string, until: number, pending?: OrderRow): Promise<OrderRow | null>;
  /** How long placeOrder waits for an order's outcome before answering PENDING (PLACE_ORDER_WAIT_MS). */
  readonly outcomeWaitMs: number;
  /** The tags an order's change invalidates. */
  purge(order: Pick<OrderRow, 'id' | 'userId'>): Promise<void>;
  stop(): Promise<void>;
}

const TIMED_OUT = Symbol('timed out');

/** `work`'s result, or `fallback` if it has not come by `until` (without a fallback: `work`, however long). */
async function by<T, F>(until: number, work: Promise<T>, fallback: F | undefined): Promise<T | F> {
  if (fallback === undefined) return work;
  let timer: NodeJS.Timeout | undefined;
  work.catch(() => {}); // a late failure, after the fallback was answered, is nobody's to see
  try {
    return await Promise.race([work, new Promise<F>((resolve) => (timer = setTimeout(() => resolve(fallback), Math.max(0, until - Date.now()))))]);
  } finally {
    clearTimeout(timer);
  }
}

/** When a waiter first looks at the database for an outcome decided elsewhere, then how often. */
const FIRST_POLL_MS = 250;
const POLL_MS = 1000;

export function startOrderSaga(options: { repository: OrdersRepository; bus: EventBus; cache: SubgraphCache; saga: SagaConfig; logger: Logger }): OrderSaga {
  const { repository, bus, cache, logger } = options;
  const decided = new EventEmitter().setMaxListeners(0);
  const purge = (order: Pick<OrderRow, 'id' | 'userId'>) => cache.purge([entityTag('Order', order.id), userOrdersTag(order.userId)]);
  const relay = startRelay({ db: repository.raw, bus, intervalMs: options.saga.relayIntervalMs, logger });
  // The waiters' looks at the database, one statement for all who look at about the same time
  // (fresh-batches.ts: none gets a row read before it asked), under the latest of their deadlines.
  // Under a burst, hundreds of placeOrder calls wait at once: a statement each was a sixth of all
  // the SQL an order cost.
  const looks = new FreshBatches<string, OrderRow, number | undefined>(async (ids, deadlines) => {
    const rows = await withLatestDeadline(deadlines, () => repository.ordersByIdsRaw(ids));
    return new Map(rows.map((row) => [row.id, row]));
  });
  const look = async (orderId: string): Promise<OrderRow | null> => (await looks.load(orderId, currentDeadline())) ?? null;
  const invalid = (problem: string) => logger.error({ problem }, 'saga event does not match its schema; acknowledged without acting on it');
  const consumers = consume(bus, STOCK_EVENTS, { group: 'orders', count: options.saga.consumers, claimIdleMs: options.saga.claimIdleMs }, async (event) => {
    let changed: OrderRow | null = null;
    if (event.type === EVENT.stockReserved) {
      const reserved = payloadOf(EVENT.stockReserved, event, invalid);
      if (reserved) changed = await repository.confirm(event.id, reserved);
    } else if (event.type === EVENT.stockRejected) {
      const rejected = payloadOf(EVENT.stockRejected, event, invalid);
      if (rejected) changed = await repository.reject(event.id, rejected);
    } else return; // StockReleased: nothing to do here
    if (!changed) return;
    await purge(changed);
    decided.emit(changed.id, changed);
  });
  return {
    publish: (event) => relay.publish([event]),
    outcomeWaitMs: options.saga.placeOrderWaitMs,
    outcome: async (orderId, until, pending) => {
      let wake: (order: OrderRow) => void = () => {};
      const heard = new Promise<OrderRow>((resolve) => (wake = resolve));
      decided.once(orderId, wake);
      try {
        let last: OrderRow | null = pending ?? null;
        // Another replica may apply the answer: look at the database too, now and then (rarely:
        // under load hundreds of orders wait at once, and this replica usually hears first).
        for (let poll = 0; ; poll++) {
          if (poll > 0 || !pending) {
            // The look (and the purge after it) ends by `until` too: on a busy machine a read
            // started just before it could take longer than the caller waits. Past it, the
            // answer is the order as last seen (a read left running is harmless).
            const seen = last;
            let looked: OrderRow | null | typeof TIMED_OUT;
            try {
              looked = await by(until, look(orderId), seen === null ? undefined : TIMED_OUT);
            } catch (error) {
              if (!isDeadlineExceeded(error) || !seen) throw error;
              return seen; // no connection before the deadline: the order as last seen
            }
            if (looked === TIMED_OUT) return seen;
            last = looked;
            if (!last) return last;
            if (last.status !== 'PENDING') {
              // Decided on another replica, which may not have purged yet: this answer must not
              // come before that purge (and its write position, ADR 0005), or a read right after
              // it could still find the PENDING order in a cache or on a read replica. Without
              // the purge in time, the answer is the PENDING order it was.
              const decided = last;
              const purged = await by(until, purge(decided).then(() => decided), seen === null ? undefined : TIMED_OUT);
              return purged === TIMED_OUT ? seen : decided;
            }
          }
          const wait = Math.min(poll === 0 ? FIRST_POLL_MS : POLL_MS, until - Date.now());
          if (wait <= 0) return last;
          let timer: NodeJS.Timeout | undefined;
          const woke = await Promise.race([heard, new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), wait)))]);
          clearTimeout(timer);
          if (woke) return woke;
        }
      } finally {
        // Only this waiter's listener: concurrent retries of the same order wait on theirs.
        decided.off(orderId, wake);
      }
    },
    purge,
    stop: async () => {
      await consumers.stop();
      await relay.stop();
    },
  };
}
