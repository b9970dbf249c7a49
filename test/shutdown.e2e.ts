// Shutdown and log output of real service processes, as production runs them (`node --import tsx`,
// NODE_ENV=production, so the exit code is the service's own), for the gateway and for a subgraph
// (users): SIGTERM after a load run with keep-alive connections open; a stdout reader that stops
// reading, then goes away; a request in flight past the shutdown timeout; a second signal.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { connect } from 'node:net';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { userIdFor } from '@commerce/db/ids';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { type ForeignSubgraph, startInventorySubgraph } from './support/foreign-subgraph.js';
import { metricValue } from './support/graph.js';
import { generateKeys } from '@commerce/harness/keys';
import { type Answer, type KeepAliveClient, keepAliveClient, type Outcome, percentile, startLoad } from './support/load.js';
import { cloneDatabase } from './support/postgres.js';
import { freePort, run, type Run } from '@commerce/harness/processes';

const template = inject('templateDatabase');

interface Started {
  run: Run;
  port: number;
  url: string;
}

/** A request the service holds in flight until `release()` (or for ever). */
interface Held {
  response: Promise<Answer>;
  release(): void;
  /** Whether an answer to it carries its data. */
  answered(body: any): boolean;
}

interface Target {
  name: string;
  start(env: Record<string, string>): Promise<Started>;
  /** What the load sends, and whether an answer to it carries its data. */
  query: string;
  answered(body: any): boolean;
  /** Resolves once the service has the request. */
  hold(client: KeepAliveClient, url: string): Promise<Held>;
}

const keys = generateKeys();
const started: Run[] = [];
let dir: string;
let foreign: ForeignSubgraph;
let databaseUrl = ''; // users': a clone of the seeded template
let dropDatabase: (() => Promise<void>) | undefined;
// The gateway's subgraph: `slow` answers when the test releases it (if ever).
const slowCalls: Array<() => void> = [];

async function startProcess(file: string, env: Record<string, string>): Promise<Started> {
  const port = await freePort();
  const child = run('', { NODE_ENV: 'production', RATE_LIMIT_ENABLED: 'false', ...env, PORT: String(port) }, { direct: file });
  started.push(child);
  await child.ready;
  return { run: child, port, url: `http://127.0.0.1:${port}/graphql` };
}

const gateway: Target = {
  name: 'gateway',
  start: (env) =>
    startProcess('gateway/src/index.ts', {
      SUPERGRAPH_PATH: join(dir, 'supergraph.graphql'),
      JWT_SECRET: keys.jwtSecret,
      IDENTITY_PRIVATE_KEY: keys.identityPrivateKey,
      // A subgraph that does not answer is waited for (only the shutdown deadline ends it).
      SUBGRAPH_TIMEOUT_MS: '60000',
      SUBGRAPH_RETRIES: '0',
      ...env,
    }),
  query: '{ warehouses { code city } }',
  answered: (body) => body?.data?.warehouses?.length === 2 && body.errors === undefined,
  hold: async (client, url) => {
    const index = slowCalls.length;
    // Each held request its own document: identical queries in flight share one execution (dedup).
    const { response } = client.begin(url, JSON.stringify({ query: `{ held${index}: slow }` }));
    await vi.waitFor(() => expect(slowCalls.length).toBeGreaterThan(index));
    return { response, release: () => slowCalls[index]?.(), answered: (body) => body?.data?.[`held${index}`] === 7 };
  },
};

const users: Target = {
  name: 'users',
  start: (env) => startProcess('subgraphs/users/src/index.ts', { DATABASE_URL: databaseUrl, IDENTITY_PUBLIC_KEY: keys.identityPublicKey, ...env }),
  query: `{ user(id: "${userIdFor('alice@example.com')}") { id name } }`,
  answered: (body) => body?.data?.user?.name === 'Alice Example' && body.errors === undefined,
  // A request whose last bytes have not arrived is in flight at the subgraph for as long as they do not.
  hold: async (client, url) => {
    const { response, accepted, finish } = client.begin(url, JSON.stringify({ query: users.query }), { holdBack: 2 });
    await accepted;
    return { response, release: finish, answered: users.answered };
  },
};

/** GET /ready on a fresh connection: its status and whether the body says the service is stopping. */
function readiness(port: number): Promise<{ status: number; stopping: boolean } | 'unanswered'> {
  return new Promise((resolve) => {
    get({ host: '127.0.0.1', port, path: '/ready', agent: false }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, stopping: /"stopping":true/.test(text) }));
      res.on('error', () => resolve('unanswered'));
    }).on('error', () => resolve('unanswered'));
  });
}

/** Whether anything accepts connections on the port. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(true);
    }).on('error', () => resolve(false));
  });
}

/** The exit code, or a failure naming how long the process has been running since `since`. */
function exitCode(child: Run, since: number, withinMs: number): Promise<number | null> {
  const late = sleep(withinMs - (performance.now() - since), undefined, { ref: false }).then(() => {
    throw new Error(`still running ${withinMs} ms after the signal`);
  });
  return Promise.race([child.exited, late]);
}

const failures = (target: Target, outcomes: Outcome[]) => outcomes.filter((o) => o.status !== 200 || !target.answered(o.body)).slice(0, 5);
const ms = (value: number) => `${Math.round(value)} ms`;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'commerce-shutdown-'));
  foreign = await startInventorySubgraph(slowCalls);
  writeFileSync(join(dir, 'supergraph.graphql'), foreign.supergraph());
  if (template) {
    const clone = await cloneDatabase(template);
    databaseUrl = clone.url;
    dropDatabase = clone.drop;
  }
});

afterAll(async () => {
  for (const release of slowCalls) release();
  for (const child of started) child.kill('SIGKILL');
  await Promise.all(started.map((child) => child.exited));
  await foreign?.stop();
  await dropDatabase?.();
  rmSync(dir, { recursive: true, force: true });
});

const targets = template ? [gateway, users] : [gateway];

describe.each(targets)('$name process: shutdown', (target) => {
  it('SIGTERM after a load run, keep-alive connections open: /ready 503 during the delay, requests in flight complete, exit 0 within the timeout', async () => {
    const [delay, timeout, connections, held] = [1000, 5000, 50, 3];
    const service = await target.start({ SHUTDOWN_READY_DELAY_MS: String(delay), SHUTDOWN_TIMEOUT_MS: String(timeout) });
    const client = keepAliveClient(connections);
    const load = startLoad(service.url, { query: target.query }, connections, client.send);
    const loadStarted = performance.now();
    await load.warmedUp(1000);
    const outcomes = await load.stop();
    const loadSeconds = (performance.now() - loadStarted) / 1000;
    expect(failures(target, outcomes)).toEqual([]);
    expect(client.open()).toBe(connections); // idle keep-alive connections, still open

    const holding: Held[] = [];
    for (let i = 0; i < held; i += 1) holding.push(await target.hold(client, service.url)); // one at a time: each knows its own
    const signalled = performance.now();
    service.run.kill('SIGTERM');
    await expect.poll(() => readiness(service.port), { interval: 20 }).toEqual({ status: 503, stopping: true });
    const notReadyAfter = performance.now() - signalled;
    // Still served during the delay (the load balancer may not have looked yet), on a kept-alive connection it is asked to close.
    const during = await client.begin(service.url, JSON.stringify({ query: target.query })).response;
    const servedAfter = performance.now() - signalled;
    expect(servedAfter).toBeLessThan(delay);
    expect(during.status).toBe(200);
    expect(target.answered(JSON.parse(during.text))).toBe(true);
    expect(during.headers.connection).toBe('close');

    // After the delay: no longer listening, every idle connection closed; those with a request in flight are still open.
    await expect.poll(() => accepts(service.port), { timeout: delay + 2000, interval: 20 }).toBe(false);
    const drainingAfter = performance.now() - signalled;
    expect(drainingAfter).toBeGreaterThanOrEqual(delay);
    await expect.poll(() => client.open(), { interval: 20 }).toBe(held);
    for (const request of holding) request.release();
    for (const request of holding) {
      const answer = await request.response;
      expect(answer.status).toBe(200);
      expect(request.answered(JSON.parse(answer.text))).toBe(true);
      expect(answer.headers.connection).toBe('close');
    }
    expect(await exitCode(service.run, signalled, timeout + 1000)).toBe(0);
    const exitedAfter = performance.now() - signalled;
    expect(exitedAfter).toBeLessThan(timeout);
    await expect.poll(() => client.open()).toBe(0);
    client.close();
    console.log(
      `${target.name}: load ${outcomes.length} requests at ${(outcomes.length / loadSeconds).toFixed(0)} req/s over ${connections} keep-alive connections (p95 ${ms(percentile(outcomes.map((o) => o.latencyMs), 95))}); ` +
        `SIGTERM -> /ready 503 after ${ms(notReadyAfter)}, listener closed after ${ms(drainingAfter)} (ready delay ${delay} ms), ${held} requests in flight released, exit 0 after ${ms(exitedAfter)} (timeout ${timeout} ms)`,
    );
  });

  it('with its stdout reader stalled it keeps answering and counts dropped log lines; SIGTERM, then the reader gone: exit 0 within the timeout', async () => {
    const [delay, timeout] = [500, 5000];
    const service = await target.start({ LOG_LEVEL: 'info', LOG_BUFFER_BYTES: '16384', SHUTDOWN_READY_DELAY_MS: String(delay), SHUTDOWN_TIMEOUT_MS: String(timeout) });
    service.run.child.stdout?.pause(); // a log shipper that stops reading: every request logs a line, nobody takes it
    const load = startLoad(service.url, { query: target.query }, 20);
    const loadStarted = performance.now();
    // Until the pipe and the sink's buffer are full and lines start to drop ...
    await expect.poll(() => metricValue(service.url, 'log_lines_dropped_total').catch(() => 0), { timeout: 20_000, interval: 100 }).toBeGreaterThan(0);
    const firstDropped = await metricValue(service.url, 'log_lines_dropped_total');
    // ... and then on: every request still answered, its log line dropped (800 at least: that is
    // well past what the pipe holds, whatever the sink does with it).
    await load.warmedUp(Math.max(800, load.outcomes.length + 300), 20_000);
    const outcomes = await load.stop();
    const loadSeconds = (performance.now() - loadStarted) / 1000;
    expect(failures(target, outcomes)).toEqual([]);
    const dropped = await metricValue(service.url, 'log_lines_dropped_total');
    expect(dropped).toBeGreaterThan(firstDropped);

    const signalled = performance.now();
    service.run.kill('SIGTERM');
    await expect.poll(() => readiness(service.port), { interval: 20 }).toEqual({ status: 503, stopping: true });
    service.run.child.stdout?.destroy(); // ... and then goes away: every write is EPIPE from now on
    expect(await exitCode(service.run, signalled, timeout + 1000)).toBe(0);
    const exitedAfter = performance.now() - signalled;
    expect(exitedAfter).toBeLessThan(timeout);
    console.log(
      `${target.name}: stdout reader stalled: ${outcomes.length} requests answered at ${(outcomes.length / loadSeconds).toFixed(0)} req/s (p95 ${ms(percentile(outcomes.map((o) => o.latencyMs), 95))}), ` +
        `log_lines_dropped_total ${dropped}; SIGTERM, reader gone -> exit 0 after ${ms(exitedAfter)} (ready delay ${delay} ms, timeout ${timeout} ms)`,
    );
  });

  it('a request in flight past SHUTDOWN_TIMEOUT_MS is cut: exit 1 shortly after the timeout, with a line saying so', async () => {
    const timeout = 1500;
    const service = await target.start({ SHUTDOWN_READY_DELAY_MS: '0', SHUTDOWN_TIMEOUT_MS: String(timeout) });
    const client = keepAliveClient(1);
    const held = await target.hold(client, service.url); // never released
    const signalled = performance.now();
    service.run.kill('SIGTERM');
    expect(await exitCode(service.run, signalled, timeout + 1000)).toBe(1);
    const exitedAfter = performance.now() - signalled;
    expect(exitedAfter).toBeGreaterThanOrEqual(timeout);
    expect(exitedAfter).toBeLessThan(timeout + 1000);
    await expect(held.response).rejects.toThrow();
    expect(service.run.stdout()).toContain(`${target.name}: shutdown timed out after ${timeout} ms with 1 request(s) in flight; connections cut, exiting 1`);
    client.close();
    console.log(`${target.name}: request in flight past the ${timeout} ms timeout -> cut, exit 1 after ${ms(exitedAfter)}`);
  });

  it('a second SIGTERM while draining exits at once', async () => {
    const timeout = 20_000;
    const service = await target.start({ SHUTDOWN_READY_DELAY_MS: '0', SHUTDOWN_TIMEOUT_MS: String(timeout) });
    const client = keepAliveClient(1);
    const held = await target.hold(client, service.url);
    service.run.kill('SIGTERM');
    await expect.poll(() => service.run.stdout()).toContain(`${target.name}: SIGTERM; /ready answers 503`);
    const second = performance.now();
    service.run.kill('SIGTERM');
    expect(await exitCode(service.run, second, 1000)).toBe(128 + constants.signals.SIGTERM);
    const exitedAfter = performance.now() - second;
    expect(exitedAfter).toBeLessThan(1000);
    expect(service.run.stdout()).toContain(`${target.name}: SIGTERM again while stopping; exiting now`);
    await expect(held.response).rejects.toThrow();
    client.close();
    console.log(`${target.name}: second SIGTERM while draining -> exit 143 after ${ms(exitedAfter)}`);
  });
});
