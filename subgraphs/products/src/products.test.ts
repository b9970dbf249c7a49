import { describe, expect, it } from 'vitest';
import { uncachedRequest } from '@commerce/subgraph-kit/testing';
import { createProductInput, updateProductInput } from './inputs.js';
import { createLoaders } from './loaders.js';
import type { ProductRow, ProductsRepository } from './repository.js';

const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const product = (n: number) => ({ id: id(n), sku: `SKU-${n}`, name: `P${n}` }) as unknown as ProductRow;

describe('products loaders', () => {
  it('coalesce the loads of one tick into one batch, one result per key, in key order; a miss or a malformed id is null', async () => {
    const batches: string[][] = [];
    const repository = {
      async productsByIds(ids: readonly string[]) {
        batches.push([...ids]);
        // Deleted or unknown products are not returned, and rows come back in any order.
        return ids.filter((key) => key !== id(2)).map((key) => product(Number(key.slice(-12)))).reverse();
      },
    } as unknown as ProductsRepository;
    const loaders = createLoaders(repository, uncachedRequest());
    const results = await Promise.all([id(3), id(1), id(2), 'not-a-uuid', id(3)].map((key) => loaders.product.load(key)));
    expect(results.map((row) => row?.id ?? null)).toEqual([id(3), id(1), null, null, id(3)]);
    expect(batches).toEqual([[id(3), id(1), id(2)]]);
    await loaders.product.load(id(1));
    expect(batches).toHaveLength(1); // memoized within the request
  });
});

describe('products inputs', () => {
  const valid = { sku: 'LAMP-1', name: 'Lamp', category: 'lighting', price: '19.99' };

  it('takes prices as decimal strings into minor units, with defaults for the optional fields', () => {
    expect(createProductInput.parse(valid)).toEqual({ ...valid, price: 1999, description: '', stock: 0 });
    expect(updateProductInput.parse({ price: '0.01', stock: 5 })).toEqual({ price: 1, stock: 5 });
  });

  it('refuses each bad field with its own message, and an explicit null where a column has no empty value', () => {
    const issues = (input: unknown, schema: typeof createProductInput | typeof updateProductInput = createProductInput) => {
      const result = schema.safeParse(input);
      return result.success ? [] : result.error.issues.map((issue) => issue.path.join('.'));
    };
    expect(issues({ ...valid, price: '0' })).toEqual(['price']);
    expect(issues({ ...valid, price: '19.999' })).toEqual(['price']);
    expect(issues({ ...valid, price: '99999999.00' })).toEqual(['price']);
    expect(issues({ ...valid, category: 'Lighting!' })).toEqual(['category']);
    expect(issues({ ...valid, name: '   ' })).toEqual(['name']);
    expect(issues({ ...valid, stock: -1 })).toEqual(['stock']);
    expect(issues({ ...valid, sku: '-lead' })).toEqual(['sku']);
    expect(issues({ name: null }, updateProductInput)).toEqual(['name']);
  });
});
