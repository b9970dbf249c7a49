// The production build, run as the image runs it: `npm run build`'s output under plain node (no
// tsx), from a directory outside the repository that holds only dist/ and a link to node_modules,
// so nothing can come from the sources (the SDL, the supergraph, the migrations must all be in
// dist/). On PostgreSQL and Redis: the four services as processes answer the README's
// cross-subgraph query, and SIGTERM stops each within its SHUTDOWN_TIMEOUT_MS. Embedded (no
// environment): a subgraph on PGlite migrates, seeds and answers. And the migrate tool of the job.
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { userIdFor } from '@commerce/db/ids';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { build, entryFile, ENTRIES, runtimeFiles, SERVICES } from '../scripts/build.js';
import { postGraphQL } from './support/graph.js';
import { adminQuery, databaseUrl, uniqueName } from '@commerce/harness/postgres';
import { cloneDatabase } from './support/postgres.js';
import { type ProcessGraph, startProcessGraph } from '@commerce/harness/process-graph';
import { freePort, ROOT, run, type Run } from '@commerce/harness/processes';

const template = inject('templateDatabase');
const redisUrl = inject('redisUrl');
let home: string; // what the image's /app holds: dist/ and node_modules
const dist = () => join(home, 'dist');
const children: Run[] = [];

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'commerce-build-'));
  await build(dist());
  symlinkSync(join(ROOT, 'node_modules'), join(home, 'node_modules'), 'dir');
}, 120_000);

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await Promise.all(children.map((child) => child.exited));
  rmSync(home, { recursive: true, force: true });
});

const ORDERS_QUERY = `query Orders {
  users(first: 3) { edges { node { name
    orders(first: 5) { totalCount edges { node { id status total { amount currency } items { quantity product { id name price { amount } } } } } }
  } } }
}`;

/** SIGTERM, then the exit code and how long it took. */
async function terminate(child: Run): Promise<{ code: number | null; ms: number }> {
  const signalled = performance.now();
  child.kill('SIGTERM');
  const code = await child.exited;
  return { code, ms: performance.now() - signalled };
}

describe('npm run build', () => {
  it('writes every entry the build declares, and the runtime files beside them', async () => {
    const { existsSync } = await import('node:fs');
    for (const name of Object.keys(ENTRIES) as Array<keyof typeof ENTRIES>) expect(existsSync(join(home, entryFile(name))), entryFile(name)).toBe(true);
    for (const file of runtimeFiles()) expect(existsSync(join(dist(), file)), file).toBe(true);
  });
});

describe.runIf(template && redisUrl)('the compiled services on PostgreSQL and Redis', () => {
  let graph: ProcessGraph;
  let drop: () => Promise<void>;
  const SHUTDOWN_TIMEOUT_MS = 5000;

  beforeAll(async () => {
    const clone = await cloneDatabase(template!);
    drop = clone.drop;
    // As in the image: NODE_ENV=production (so a 2 s ready delay before the drain), one timeout.
    graph = await startProcessGraph(clone.url, { build: dist(), env: { NODE_ENV: 'production', REDIS_URL: redisUrl!, SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS), MIGRATE_ON_START: 'false' } });
  }, 120_000);

  afterAll(async () => {
    await graph?.stop();
    await drop?.();
  });

  it("answer the README's query across all three subgraphs", async () => {
    const token = await graph.tokenFor('admin@example.com', 'ADMIN');
    const response = await postGraphQL<{ users: { edges: Array<{ node: { name: string; orders: { totalCount: number; edges: Array<{ node: { items: Array<{ product: { name: string } | null }> } }> } } }> } }>(
      graph.gatewayUrl,
      ORDERS_QUERY,
      {},
      { authorization: `Bearer ${token}` },
    );
    expect(response.errors).toBeUndefined();
    const users = response.data!.users.edges.map((edge) => edge.node);
    expect(users).toHaveLength(3);
    const items = users.flatMap((user) => user.orders.edges.flatMap((edge) => edge.node.items));
    expect(items.length).toBeGreaterThan(0);
    expect(items.every((item) => typeof item.product?.name === 'string')).toBe(true);
  });

  it('the compiled gateway runs a trusted document by id alone: its manifest travels in dist/', async () => {
    const { readFileSync } = await import('node:fs');
    const manifest = JSON.parse(readFileSync(join(dist(), 'clients', 'persisted-query-manifest.json'), 'utf8')) as { operations: Array<{ id: string; name: string }> };
    const catalog = manifest.operations.find((operation) => operation.name === 'Catalog')!;
    const response = await fetch(graph.gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ variables: { first: 2 }, extensions: { persistedQuery: { version: 1, sha256Hash: catalog.id } } }),
    });
    const body = (await response.json()) as { data?: { products: { edges: unknown[] } }; errors?: unknown[] };
    expect(body.errors).toBeUndefined();
    expect(body.data?.products.edges).toHaveLength(2);
  });

  it("the image's HEALTHCHECK (dist/healthcheck) passes against each running service", async () => {
    const urls = { gateway: graph.gatewayUrl, ...graph.subgraphUrls };
    for (const [name, url] of Object.entries(urls)) {
      const check = run('', { PORT: new URL(url).port }, { compiled: join(home, entryFile('healthcheck')), cwd: home });
      children.push(check);
      expect(await check.exited, name).toBe(0);
    }
  });

  it('SIGTERM stops each service (the gateway first) with exit 0 within SHUTDOWN_TIMEOUT_MS', async () => {
    const stopped: Record<string, { code: number | null; ms: number }> = {};
    for (const name of SERVICES) stopped[name] = await terminate(graph.process(name));
    for (const name of SERVICES) {
      expect(stopped[name]!.code, name).toBe(0);
      expect(stopped[name]!.ms, name).toBeLessThan(SHUTDOWN_TIMEOUT_MS);
    }
    // ... and with nothing listening, the HEALTHCHECK fails.
    const check = run('', { PORT: new URL(graph.gatewayUrl).port }, { compiled: join(home, entryFile('healthcheck')), cwd: home });
    children.push(check);
    expect(await check.exited).toBe(1);
    console.log(`compiled services, SIGTERM to exit (ready delay 2000 ms, timeout ${SHUTDOWN_TIMEOUT_MS} ms): ${SERVICES.map((name) => `${name} ${Math.round(stopped[name]!.ms)} ms`).join(', ')}`);
  });
});

describe('the compiled services embedded (no environment)', () => {
  it('a subgraph on PGlite migrates and seeds at first start, answers, and stops on SIGTERM', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'commerce-embedded-')); // not the repository: nothing may depend on the working directory
    try {
      const port = await freePort();
      const users = run('', { PORT: String(port), DATABASE_URL: '', USERS_DATABASE_URL: '', REDIS_URL: '', NODE_ENV: '', LOG_LEVEL: 'info' }, { compiled: join(home, entryFile('users')), cwd });
      children.push(users);
      await users.ready;
      expect(users.output()).toContain('migrations applied');
      expect(users.output()).toContain('database seeded');
      const response = await postGraphQL<{ user: { name: string } }>(`http://127.0.0.1:${port}/graphql`, `{ user(id: "${userIdFor('alice@example.com')}") { name } }`);
      expect(response.data?.user.name).toBe('Alice Example');
      const { code, ms } = await terminate(users);
      expect(code).toBe(0);
      expect(ms).toBeLessThan(10_000); // SHUTDOWN_TIMEOUT_MS's default
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  }, 90_000);
});

describe.runIf(template)('the compiled migrate tool (the migration job)', () => {
  it('migrates a fresh database from the migrations in dist/, then finds it up to date', async () => {
    const name = uniqueName('commerce_job');
    await adminQuery(`CREATE DATABASE ${name}`);
    try {
      const migrateOnce = async () => {
        const job = run('', { DATABASE_URL: databaseUrl(name), NODE_ENV: '' }, { compiled: join(home, entryFile('db')), args: ['migrate'], cwd: home });
        children.push(job);
        expect(await job.exited, job.output()).toBe(0);
        return job.output();
      };
      expect(await migrateOnce()).toMatch(/users \(schema users\): applied 2\d+_init/);
      expect(await migrateOnce()).toContain('orders (schema orders): up to date');
    } finally {
      await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    }
  });
});
