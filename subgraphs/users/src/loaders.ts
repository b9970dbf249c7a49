// Per-request DataLoaders: one SQL statement per batch, one result per key, in key order.
import { rowsByIds } from '@commerce/shared';
import DataLoader from 'dataloader';
import type { UserRow, UsersRepository } from './repository.js';

export function batchUsers(repository: Pick<UsersRepository, 'usersByIds'>, ids: readonly string[]): Promise<Array<UserRow | null>> {
  return rowsByIds(ids, (valid) => repository.usersByIds(valid));
}

export function createLoaders(repository: UsersRepository) {
  return {
    user: new DataLoader<string, UserRow | null>((ids) => batchUsers(repository, ids)),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
