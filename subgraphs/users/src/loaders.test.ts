import { describe, expect, it } from 'vitest';
import { uncachedRequest } from '@commerce/subgraph-kit/testing';
import { createLoaders } from './loaders.js';
import type { UserRow, UsersRepository } from './repository.js';

const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const user = (n: number): UserRow => ({ id: id(n), email: `u${n}@example.com`, name: `U${n}`, role: 'USER', createdAt: new Date(), updatedAt: new Date() });

describe('users loaders', () => {
  it('coalesce the loads of one tick into one batch, one result per key, in key order', async () => {
    const batches: string[][] = [];
    const repository = {
      async usersByIds(ids: readonly string[]) {
        batches.push([...ids]);
        return ids.filter((key) => key !== id(2)).map((key) => user(Number(key.slice(-12)))).reverse();
      },
    } as unknown as UsersRepository;
    const loaders = createLoaders(repository, uncachedRequest());
    const results = await Promise.all([id(3), id(1), id(2), 'bad', id(3)].map((key) => loaders.user.load(key)));
    expect(results.map((u) => u?.id ?? null)).toEqual([id(3), id(1), null, null, id(3)]);
    expect(batches).toEqual([[id(3), id(1), id(2)]]);
    await loaders.user.load(id(1));
    expect(batches).toHaveLength(1); // memoized within the request
  });
});
