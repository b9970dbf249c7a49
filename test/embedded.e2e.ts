// The embedded default (no DATABASE_URL): each subgraph on PGlite under a data dir, migrated and
// seeded on first start, with development keys generated there; the token and apikey tools work
// against the running graph without opening its databases.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGraph, type TestGraph } from './support/graph.js';
import { statementsFor } from './support/nested.js';
import { run } from '@commerce/harness/processes';

describe('embedded mode (PGlite)', () => {
  let graph: TestGraph;
  beforeAll(async () => {
    graph = await startGraph({ kind: 'pglite' }, { gatewayEnv: { API_KEY_CACHE_SECONDS: '0' } });
  });
  afterAll(() => graph?.stop());

  it('starts, seeds, and answers the cross-subgraph query N+1-free', async () => {
    const products = await graph.query('{ products(first: 5) { totalCount edges { node { name price { amount } } } } }');
    expect(products.errors).toBeUndefined();
    expect(products.data?.products.totalCount).toBe(500);
    expect(products.data?.products.edges).toHaveLength(5);

    const small = await statementsFor(graph, 5);
    const large = await statementsFor(graph, 30);
    expect(large.orders).toBeGreaterThan(small.orders);
    expect(large.statements).toBe(small.statements);
  });

  it('npm run token prints a token the running graph accepts', async () => {
    const env = { DATA_DIR: graph.dataDir as string };
    const token = run('token', env, { args: ['--email', 'alice@example.com', '--ttl', '120'] });
    expect(await token.exited).toBe(0);
    const me = await graph.query('{ me { name email } }', undefined, { authorization: `Bearer ${token.stdout().trim()}` });
    expect(me.data).toEqual({ me: { name: 'Alice Example', email: 'alice@example.com' } });

    const unknown = run('token', env, { args: ['--email', 'mallory@example.com'] });
    expect(await unknown.exited).toBe(2);
    expect(unknown.output()).toContain('not a seeded user');
  });

  it('npm run apikey creates a key the graph accepts, and --revoke revokes it', async () => {
    const env = { DATA_DIR: graph.dataDir as string, GATEWAY_URL: graph.gatewayUrl };
    const created = run('apikey', env, { args: ['--name', 'initech', '--tier', 'partner'] });
    expect(await created.exited).toBe(0);
    const key = created.stdout().trim();
    expect(key).toMatch(/^ck_/);
    const asPartner = await graph.query('{ products(first: 1) { totalCount } }', undefined, { 'x-api-key': key });
    expect(asPartner).toMatchObject({ status: 200, data: { products: { totalCount: 500 } } });

    const revoked = run('apikey', env, { args: ['--revoke', 'initech'] });
    expect(await revoked.exited).toBe(0);
    expect((await graph.query('{ products(first: 1) { totalCount } }', undefined, { 'x-api-key': key })).status).toBe(401);
  });
});
