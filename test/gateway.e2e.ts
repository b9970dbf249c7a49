// The gateway as a user starts it: `npm run -s start:gateway` in its own process, on any
// supergraph file (not only ours), with SUBGRAPH_URL_<NAME> overrides; bad config exits 1.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type ForeignSubgraph, startForeignSubgraph } from './support/foreign-subgraph.js';
import { postGraphQL } from './support/graph.js';
import { freePort, run, type Run } from '@commerce/harness/processes';

const typeDefs = parse(`
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
  type Query { warehouses: [Warehouse!]! slowCount: Int! }
  type Warehouse @key(fields: "code") { code: ID! city: String! }
`);
/** How many slowCount calls have reached the subgraph (a request is in flight at the gateway once one has). */
let slowCalls = 0;
const resolvers = {
  Query: {
    warehouses: () => [{ code: 'AMS', city: 'Amsterdam' }, { code: 'LIS', city: 'Lisbon' }],
    slowCount: async () => {
      slowCalls += 1;
      return new Promise((resolve) => setTimeout(() => resolve(2), 800));
    },
  },
};

describe('the gateway alone, on a foreign supergraph', () => {
  let dir: string;
  let subgraph: ForeignSubgraph;
  let subgraphUrl: string;
  const children: Run[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'commerce-gw-'));
    subgraph = await startForeignSubgraph('inventory-svc', typeDefs, resolvers);
    subgraphUrl = subgraph.url;
    writeFileSync(join(dir, 'direct.graphql'), subgraph.supergraph());
    writeFileSync(join(dir, 'elsewhere.graphql'), subgraph.supergraph('http://127.0.0.1:9/graphql'));
  });
  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await subgraph?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the graph at the URLs in the file, with /health and Sandbox at /', async () => {
    const port = await freePort();
    const gateway = run('start:gateway', { SUPERGRAPH_PATH: join(dir, 'direct.graphql'), PORT: String(port) });
    children.push(gateway);
    await gateway.ready;
    const result = await postGraphQL(`http://127.0.0.1:${port}/graphql`, '{ warehouses { code city } }');
    expect(result.data).toEqual({ warehouses: [{ code: 'AMS', city: 'Amsterdam' }, { code: 'LIS', city: 'Lisbon' }] });
    expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
    const sandbox = await fetch(`http://127.0.0.1:${port}/`, { headers: { accept: 'text/html' } });
    expect(sandbox.status).toBe(200);
    expect(await sandbox.text()).toMatch(/sandbox/i);
    gateway.kill('SIGTERM');
    await gateway.exited;
  });

  it('SUBGRAPH_URL_<NAME> overrides the URL in the file; SIGTERM drains and exits 0', async () => {
    const port = await freePort();
    const gateway = run('', { SUPERGRAPH_PATH: join(dir, 'elsewhere.graphql'), PORT: String(port), SUBGRAPH_URL_INVENTORY_SVC: subgraphUrl }, { direct: 'gateway/src/index.ts' });
    children.push(gateway);
    await gateway.ready;
    const result = await postGraphQL(`http://127.0.0.1:${port}/graphql`, '{ warehouses { code } }');
    expect(result.errors).toBeUndefined();
    expect(result.data).toEqual({ warehouses: [{ code: 'AMS' }, { code: 'LIS' }] });
    gateway.kill('SIGTERM');
    expect(await gateway.exited).toBe(0);
  });

  it('SIGTERM lets a request in flight finish, then exits 0', async () => {
    const port = await freePort();
    const gateway = run('', { SUPERGRAPH_PATH: join(dir, 'direct.graphql'), PORT: String(port) }, { direct: 'gateway/src/index.ts' });
    children.push(gateway);
    await gateway.ready;
    const callsBefore = slowCalls;
    const inFlight = postGraphQL(`http://127.0.0.1:${port}/graphql`, '{ slowCount }');
    await vi.waitFor(() => expect(slowCalls, 'the request reached the subgraph').toBe(callsBefore + 1), { timeout: 5000, interval: 5 });
    gateway.kill('SIGTERM');
    const result = await inFlight;
    expect(result.status).toBe(200);
    expect(result.data).toEqual({ slowCount: 2 });
    expect(await gateway.exited).toBe(0);
    await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();
  });

  it('bad configuration prints every problem and exits 1', async () => {
    const bad = run('start:gateway', { SUPERGRAPH_PATH: join(dir, 'direct.graphql'), PORT: 'eighty', LOG_LEVEL: 'loud', SUBGRAPH_URL_X: 'not a url' });
    expect(await bad.exited).toBe(1);
    for (const name of ['PORT', 'LOG_LEVEL', 'SUBGRAPH_URL_X']) expect(bad.output()).toContain(name);
    expect(bad.output()).not.toMatch(/\n\s+at /); // no stack trace

    const typo = run('start:gateway', { SUPERGRAPH_PATH: join(dir, 'direct.graphql'), PORT: '0', SUBGRAPH_URL_INVENTORY: subgraphUrl });
    expect(await typo.exited).toBe(1);
    expect(typo.output()).toContain('SUBGRAPH_URL_INVENTORY: the supergraph has no graph by that name (it has INVENTORY_SVC)');

    const missing = run('start:gateway', { SUPERGRAPH_PATH: join(dir, 'nope.graphql') });
    expect(await missing.exited).toBe(1);
    expect(missing.output()).toContain('SUPERGRAPH_PATH');

    const subgraphConfig = run('start:users', { DATABASE_URL: 'mysql://nope', PORT: '-1' });
    expect(await subgraphConfig.exited).toBe(1);
    for (const name of ['DATABASE_URL', 'PORT']) expect(subgraphConfig.output()).toContain(name);
  });

  it('NODE_ENV=production refuses to start without real key material', async () => {
    const gateway = run('start:gateway', { NODE_ENV: 'production', SUPERGRAPH_PATH: join(dir, 'direct.graphql'), PORT: '0', JWT_SECRET: '', IDENTITY_PRIVATE_KEY: '' });
    expect(await gateway.exited).toBe(1);
    expect(gateway.output()).toContain('JWT_SECRET: JWT_SECRET or JWKS_URL is required when NODE_ENV=production');
    expect(gateway.output()).toContain('IDENTITY_PRIVATE_KEY: required when NODE_ENV=production');
    const users = run('start:users', { NODE_ENV: 'production', PORT: '0', IDENTITY_PUBLIC_KEY: '' });
    expect(await users.exited).toBe(1);
    expect(users.output()).toContain('IDENTITY_PUBLIC_KEY: required when NODE_ENV=production');
  });
});
