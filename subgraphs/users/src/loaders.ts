// Per-request DataLoaders: one SQL statement per batch, one result per key, in key order; rows
// by id read through the shared entity cache.
import type { RequestCache } from '@commerce/subgraph-kit';
import DataLoader from 'dataloader';
import type { UserRow, UsersRepository } from './repository.js';

export function createLoaders(repository: UsersRepository, cache: RequestCache) {
  return {
    user: new DataLoader<string, UserRow | null>((ids) => cache.rowsByIds('User', ids, (valid) => repository.usersByIds(valid))),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
