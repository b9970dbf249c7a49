// The embedded default (no DATABASE_URL): each subgraph on PGlite under a data dir, migrated and
// seeded on first start, the data reused on the next.
import { afterAll, describe, expect, it } from 'vitest';
import { startGraph, type TestGraph } from './support/graph.js';
import { statementsFor } from './support/nested.js';

describe('embedded mode (PGlite)', () => {
  let graph: TestGraph | undefined;
  afterAll(() => graph?.stop());

  it('starts, seeds, and answers the cross-subgraph query N+1-free', async () => {
    graph = await startGraph({ kind: 'pglite' });
    const products = await graph.query('{ products(first: 5) { totalCount edges { node { name price { amount } } } } }');
    expect(products.errors).toBeUndefined();
    expect(products.data?.products.totalCount).toBe(500);
    expect(products.data?.products.edges).toHaveLength(5);

    const small = await statementsFor(graph, 5);
    const large = await statementsFor(graph, 30);
    expect(large.orders).toBeGreaterThan(small.orders);
    expect(large.statements).toBe(small.statements);
  });
});
