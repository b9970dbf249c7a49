// N+1 freedom, measured: the SQL statements the three subgraphs send for a nested query do not
// grow with the page size (counted by sql_statements_total at the driver adapter).
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startGraph, type TestGraph } from './support/graph.js';
import { statementsFor } from './support/nested.js';

const template = inject('templateDatabase');

describe.skipIf(!template)('N+1 freedom on PostgreSQL', () => {
  let graph: TestGraph;
  beforeAll(async () => {
    graph = await startGraph({ kind: 'postgres', template: template as string }, { env: { CACHE_ENABLED: 'false' } }); // statements counted, not cache hits
  });
  afterAll(() => graph?.stop());

  it('sends the same small number of statements for page size 5 and 50', async () => {
    await statementsFor(graph, 2); // warm up: connections, prepared plans
    const small = await statementsFor(graph, 5);
    const large = await statementsFor(graph, 50);
    console.log(`statements: page 5 -> ${small.statements} (${small.orders} orders, ${small.items} items); page 50 -> ${large.statements} (${large.orders} orders, ${large.items} items)`);
    expect(small.users).toBe(5);
    expect(large.users).toBe(50);
    expect(large.items).toBeGreaterThan(10 * small.items);
    expect(large.statements).toBe(small.statements);
    // users list (1) + orders of all users (1) + their items (1) + products (1)
    expect(small.statements).toBe(4);
  });
});
