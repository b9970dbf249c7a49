// Per-request DataLoaders: one SQL statement per batch, one result per key, in key order.
import { rowsByIds } from '@commerce/shared';
import DataLoader from 'dataloader';
import type { ProductRow, ProductsRepository } from './repository.js';

export function batchProducts(repository: Pick<ProductsRepository, 'productsByIds'>, ids: readonly string[]): Promise<Array<ProductRow | null>> {
  return rowsByIds(ids, (valid) => repository.productsByIds(valid));
}

export function createLoaders(repository: ProductsRepository) {
  return {
    product: new DataLoader<string, ProductRow | null>((ids) => batchProducts(repository, ids)),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
