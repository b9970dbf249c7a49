// Per-request DataLoaders: one SQL statement per batch, one result per key, in key order.
import { isUuid, oneByKey } from '@commerce/shared';
import DataLoader from 'dataloader';
import type { ProductRow, ProductsRepository } from './repository.js';

export async function batchProducts(repository: Pick<ProductsRepository, 'productsByIds'>, ids: readonly string[]): Promise<Array<ProductRow | null>> {
  const valid = ids.filter(isUuid);
  const rows = valid.length > 0 ? await repository.productsByIds(valid) : [];
  return oneByKey(ids, rows, (row) => row.id);
}

export function createLoaders(repository: ProductsRepository) {
  return {
    product: new DataLoader<string, ProductRow | null>((ids) => batchProducts(repository, ids)),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
