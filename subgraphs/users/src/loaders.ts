// Per-request DataLoaders: one SQL statement per batch, one result per key, in key order.
import { isUuid, oneByKey } from '@commerce/shared';
import DataLoader from 'dataloader';
import type { UserRow, UsersRepository } from './repository.js';

export async function batchUsers(repository: Pick<UsersRepository, 'usersByIds'>, ids: readonly string[]): Promise<Array<UserRow | null>> {
  const valid = ids.filter(isUuid);
  const rows = valid.length > 0 ? await repository.usersByIds(valid) : [];
  return oneByKey(ids, rows, (row) => row.id);
}

export function createLoaders(repository: UsersRepository) {
  return {
    user: new DataLoader<string, UserRow | null>((ids) => batchUsers(repository, ids)),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
