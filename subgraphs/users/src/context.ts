import type { RequestContext } from '@commerce/subgraph-kit';
import type { Loaders } from './loaders.js';
import type { UsersRepository } from './repository.js';

export interface Context extends RequestContext {
  loaders: Loaders;
  repository: UsersRepository;
}
