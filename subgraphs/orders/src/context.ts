import type { RequestContext } from '@commerce/shared';
import type { Loaders } from './loaders.js';
import type { OrdersRepository } from './repository.js';

export interface Context extends RequestContext {
  loaders: Loaders;
  repository: OrdersRepository;
}
