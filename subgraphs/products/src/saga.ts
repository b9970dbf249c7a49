// products' side of the order saga: reserves stock for OrderPlaced and gives it back for
// OrderCancelled (repository.ts does both atomically), publishes its answers from the outbox, and
// purges the changed products' cache tags after each commit, so no cached stock is ever stale.
import { consume, entityTag, EVENT, type EventBus, listTag, type Logger, ORDER_EVENTS, payloadOf, type SagaConfig, startRelay, type SubgraphCache } from '@commerce/subgraph-kit';
import type { ProductsRepository } from './repository.js';

export interface StockSaga {
  stop(): Promise<void>;
}

export function startStockSaga(options: { repository: ProductsRepository; bus: EventBus; cache: SubgraphCache; saga: SagaConfig; logger: Logger }): StockSaga {
  const { repository, bus, cache, logger } = options;
  const relay = startRelay({ db: repository.raw, bus, intervalMs: options.saga.relayIntervalMs, logger });
  const invalid = (problem: string) => logger.error({ problem }, 'saga event does not match its schema; acknowledged without acting on it');
  const consumers = consume(bus, ORDER_EVENTS, { group: 'products', count: options.saga.consumers, claimIdleMs: options.saga.claimIdleMs }, async (event) => {
    const placed = event.type === EVENT.orderPlaced ? payloadOf(EVENT.orderPlaced, event, invalid) : null;
    const cancelled = event.type === EVENT.orderCancelled ? payloadOf(EVENT.orderCancelled, event, invalid) : null;
    const outcome = placed ? await repository.reserve(event.id, placed) : cancelled ? await repository.release(event.id, cancelled.orderId) : null;
    if (!outcome || outcome.kind === 'unchanged') return;
    // Not awaited: the next event need not wait for this answer's publish (stop() waits for it;
    // a crash before it leaves the row to the relay's sweep).
    void relay.publish([outcome.event]);
    if (!('productIds' in outcome)) return; // rejected: no stock changed
    // Stock changed: the products themselves and every list filtered by stock.
    await cache.purge([...outcome.productIds.map((id) => entityTag('Product', id)), listTag('Product', 'stock')]);
  });
  return {
    stop: async () => {
      await consumers.stop();
      await relay.stop();
    },
  };
}
