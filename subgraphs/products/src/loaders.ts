// Per-request DataLoaders: one SQL statement per batch, one result per key, in key order; rows
// by id read through the shared entity cache.
import type { RequestCache } from '@commerce/subgraph-kit';
import DataLoader from 'dataloader';
import type { ProductRow, ProductsRepository } from './repository.js';

export function createLoaders(repository: ProductsRepository, cache: RequestCache) {
  return {
    product: new DataLoader<string, ProductRow | null>((ids) => cache.rowsByIds('Product', ids, (valid) => repository.productsByIds(valid))),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
