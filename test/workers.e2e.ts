// GATEWAY_WORKERS=2, as production runs it (`node --import tsx gateway/src/index.ts`,
// NODE_ENV=production, Redis for budgets and the cache): requests are served by both workers,
// /metrics sums them, a worker that dies is replaced, and SIGTERM to the primary drains every
// worker (requests in flight answered) and exits 0.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { generateKeys } from '@commerce/harness/keys';
import { freePort, run, type Run } from '@commerce/harness/processes';
import { type ForeignSubgraph, startInventorySubgraph } from './support/foreign-subgraph.js';

const keys = generateKeys();
let dir: string;
let foreign: ForeignSubgraph;
const slowCalls: Array<() => void> = [];
let gateway: Run;
let port: number;

/** POST /graphql on a connection of its own (the cluster hands out connections, not requests). */
function post(query: string, operationName?: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/graphql', method: 'POST', agent: false, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : null }));
    });
    req.on('error', reject);
    req.end(JSON.stringify({ query, ...(operationName ? { operationName } : {}) }));
  });
}

const getText = async (path: string) => {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: response.status, text: await response.text() };
};

/** Worker pids that logged a request of this operation. */
const workersThatServed = (operation: string) =>
  new Set(
    gateway
      .stdout()
      .split('\n')
      .filter((line) => line.includes('"msg":"graphql request"') && line.includes(`"operation":"${operation}"`))
      .map((line) => (JSON.parse(line) as { worker: number }).worker),
  );
const startedWorkers = () => [...gateway.stdout().matchAll(/gateway: worker (\d+) started/g)].map((match) => Number(match[1]));

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'commerce-workers-'));
  foreign = await startInventorySubgraph(slowCalls);
  writeFileSync(join(dir, 'supergraph.graphql'), foreign.supergraph());
  port = await freePort();
  gateway = run(
    '',
    {
      NODE_ENV: 'production',
      LOG_LEVEL: 'info',
      GATEWAY_WORKERS: '2',
      REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      CACHE_PREFIX: `workers-${process.pid}-${Date.now()}`,
      SUPERGRAPH_PATH: join(dir, 'supergraph.graphql'),
      JWT_SECRET: keys.jwtSecret,
      IDENTITY_PRIVATE_KEY: keys.identityPrivateKey,
      SUBGRAPH_TIMEOUT_MS: '60000',
      SUBGRAPH_RETRIES: '0',
      SHUTDOWN_READY_DELAY_MS: '500',
      SHUTDOWN_TIMEOUT_MS: '5000',
      PORT: String(port),
    },
    { direct: 'gateway/src/index.ts' },
  );
  await gateway.ready;
});

afterAll(async () => {
  for (const release of slowCalls) release();
  gateway?.kill('SIGKILL');
  await gateway?.exited;
  await foreign?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('gateway with GATEWAY_WORKERS=2', () => {
  it('starts two workers behind one port and says so once', () => {
    expect(new Set(startedWorkers()).size).toBe(2);
    expect(gateway.stdout().match(/ready at/g)).toHaveLength(1);
    expect(gateway.stdout()).toMatch(/gateway ready at \S+ \(2 workers, primary \d+\)/);
  });

  it('serves requests from both workers, and /metrics sums their counters', async () => {
    const sent = 40;
    for (let i = 0; i < sent; i++) {
      const answer = await post('query WorkerProbe { warehouses { code } }', 'WorkerProbe');
      expect(answer.status).toBe(200);
      expect(answer.body.data.warehouses).toHaveLength(2);
    }
    await vi.waitFor(() => expect(workersThatServed('WorkerProbe').size).toBe(2), { timeout: 5000 });
    const served = workersThatServed('WorkerProbe');
    expect([...served].every((pid) => startedWorkers().includes(pid))).toBe(true);
    // Whichever worker the scrape reaches answers with the sum over both.
    for (let scrape = 0; scrape < 4; scrape++) {
      const metrics = await getText('/metrics');
      expect(metrics.status).toBe(200);
      const count = /^http_request_duration_seconds_count\{operation="WorkerProbe",outcome="ok",service="gateway"\} (\d+)$/m.exec(metrics.text);
      expect(Number(count?.[1])).toBe(sent);
    }
    expect((await getText('/ready')).status).toBe(200);
    expect((await getText('/health')).status).toBe(200);
  });

  it('replaces a worker that dies, and the new one serves', async () => {
    const [victim] = startedWorkers();
    process.kill(victim!, 'SIGKILL');
    await vi.waitFor(() => expect(gateway.stdout()).toContain(`gateway: worker ${victim} exited (SIGKILL); starting another`), { timeout: 5000 });
    await vi.waitFor(() => expect(startedWorkers()).toHaveLength(3), { timeout: 5000 });
    const replacement = startedWorkers()[2]!;
    await vi.waitFor(() => expect(gateway.stdout()).toContain(`gateway worker ${replacement} listening at`), { timeout: 50_000, interval: 200 });
    // Every answer meanwhile is a whole one (the survivor takes the connections), until the new worker has served.
    await vi.waitFor(
      async () => {
        const answer = await post('query AfterReplace { warehouses { code } }', 'AfterReplace');
        expect(answer.status).toBe(200);
        expect(answer.body.data.warehouses).toHaveLength(2);
        expect(workersThatServed('AfterReplace').has(replacement)).toBe(true);
      },
      { timeout: 10_000, interval: 20 },
    );
  });

  it('SIGTERM to the primary: every worker drains, requests in flight are answered, exit 0', async () => {
    const held = [0, 1, 2, 3].map((index) => {
      const answer = post(`{ held${index}: slow }`);
      return { index, answer };
    });
    // In flight at the subgraph, spread over the workers' connections.
    await vi.waitFor(() => expect(slowCalls.length).toBe(held.length), { timeout: 10_000 });
    const signalled = performance.now();
    process.kill(gateway.child.pid!, 'SIGTERM'); // the primary alone, as tini forwards it in the image
    await vi.waitFor(() => expect(gateway.stdout().match(/gateway worker \d+: SIGTERM to the primary/g)).toHaveLength(2), { timeout: 2000 });
    for (const release of slowCalls) release();
    for (const { index, answer } of held) {
      const { status, body } = await answer;
      expect(status).toBe(200);
      expect(body.data[`held${index}`]).toBe(7);
    }
    expect(await gateway.exited).toBe(0);
    console.log(`workers e2e: SIGTERM → exit 0 after ${Math.round(performance.now() - signalled)} ms, ${held.length} requests in flight answered`);
    expect(gateway.stdout()).toContain('gateway: every worker stopped');
  });
});
