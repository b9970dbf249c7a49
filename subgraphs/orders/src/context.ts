import type { Admission } from '@commerce/platform/admission';
import type { RequestContext } from '@commerce/subgraph-kit';
import type { ProductCatalog } from './catalog.js';
import type { Loaders } from './loaders.js';
import type { OrdersRepository } from './repository.js';
import type { OrderSaga } from './saga.js';

export interface Context extends RequestContext {
  loaders: Loaders;
  repository: OrdersRepository;
  saga: OrderSaga;
  catalog: ProductCatalog;
  /** placeOrder's writing part, PLACE_ORDER_CONCURRENCY at a time (admission.ts). */
  placing: Admission;
}
