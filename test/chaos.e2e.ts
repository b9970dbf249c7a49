// Chaos under sustained load, services as separate processes (npm run start:*), loopback only.
// Ten workers send the same signed-in query (users → orders → products, plus a product by id)
// without pause while a subgraph is killed and restarted, frozen past the timeout and thawed, or
// loses every database connection. Every response is judged: HTTP 200 always, the live subgraphs'
// data always there, SUBGRAPH_UNAVAILABLE exactly at the failed subgraph's paths, full data again
// within a stated bound. Measured times are printed (README "Measured" quotes them).
//
// The response cache and client budgets are off (CACHE_ENABLED / RATE_LIMIT_ENABLED): these tests
// are about live subgraph fetches, and ten workers from one client would otherwise exhaust a budget.
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { generateSeed } from '@commerce/db/seed-data';
import { metricValue } from './support/graph.js';
import { type Load, type Outcome, percentile, startLoad } from './support/load.js';
import { cloneDatabase } from './support/postgres.js';
import { type ProcessGraph, startProcessGraph } from '@commerce/harness/process-graph';
import { REDIS_URL } from '@commerce/harness/redis';
import { valueOf } from './support/wait.js';

const template = inject('templateDatabase');
const PRODUCT = generateSeed().products[0]!.id;
const QUERY = `query Chaos { me { name orders(first: 3) { totalCount edges { node { id items { quantity product { name } } } } } } product(id: "${PRODUCT}") { name } }`;
const WORKERS = 10;
/** Answers to wait for before a failure is injected. */
const WARM_ANSWERS = 30;
const TIMEOUT_MS = 1000;
const BREAKER_RESET_MS = 2000;
/** The promise each test checks: full data again this soon after the failure ends. */
const RECOVERY_BOUND_MS = 5000;

type Verdict = 'full' | 'orders-missing' | 'products-missing' | 'products-partly-missing' | 'other';
const items = (body: any): any[] => (body?.data?.me?.orders?.edges ?? []).flatMap((edge: any) => edge?.node?.items ?? []);
const errorsOf = (body: any): any[] => body?.errors ?? [];
const unavailable = (body: any, subgraph: string) => errorsOf(body).length > 0 && errorsOf(body).every((e) => e.extensions?.code === 'SUBGRAPH_UNAVAILABLE' && e.extensions?.subgraph === subgraph);

function verdict(outcome: Outcome): Verdict {
  const body = outcome.body;
  if (outcome.status !== 200 || body?.data?.me?.name !== 'Alice Example') return 'other';
  const orders = body.data.me.orders;
  const productName = body.data.product?.name;
  if (errorsOf(body).length === 0) {
    return orders?.totalCount === 40 && typeof productName === 'string' && items(body).length > 0 && items(body).every((item) => typeof item.product?.name === 'string') ? 'full' : 'other';
  }
  // users and products answered; orders' one field is null with its error, nothing else missing.
  if (orders === null && typeof productName === 'string' && unavailable(body, 'orders') && errorsOf(body).length === 1 && errorsOf(body)[0].path.join('.') === 'me.orders') return 'orders-missing';
  // users and orders answered; products fields are null exactly where an error names them: all of
  // them (products-missing), or some when a request straddles a transition (one of its two
  // products fetches served, the other not).
  if (orders?.totalCount === 40 && unavailable(body, 'products')) {
    const lines = items(body);
    const paths = new Set(errorsOf(body).map((e) => e.path.join('.')));
    const linePaths = (body.data.me.orders.edges as any[]).flatMap((edge, e) => edge.node.items.map((item: any, i: number) => ({ item, path: `me.orders.edges.${e}.node.items.${i}.product.name` })));
    const consistent =
      lines.length > 0 &&
      lines.every((item) => item.quantity > 0 && (item.product === null || typeof item.product?.name === 'string')) &&
      linePaths.every(({ item, path }) => (item.product === null) === paths.has(path)) &&
      (body.data.product === null) === paths.has('product') &&
      paths.size === errorsOf(body).length &&
      [...paths].every((path) => path === 'product' || linePaths.some((line) => line.path === path));
    if (consistent) return body.data.product === null && lines.every((item) => item.product === null) ? 'products-missing' : 'products-partly-missing';
  }
  return 'other';
}

const reasons = (outcomes: Outcome[]) => {
  const counts: Record<string, number> = {};
  for (const o of outcomes) for (const e of errorsOf(o.body)) counts[e.extensions?.reason ?? e.extensions?.code] = (counts[e.extensions?.reason ?? e.extensions?.code] ?? 0) + 1;
  return counts;
};
const ms = (values: number[]) => `p50 ${percentile(values, 50).toFixed(0)} ms, p95 ${percentile(values, 95).toFixed(0)} ms`;
const describeOther = (outcomes: Outcome[]) => outcomes.filter((o) => verdict(o) === 'other').slice(0, 3).map((o) => `${o.status} ${o.failure ?? JSON.stringify(o.body).slice(0, 400)}`);

/** Resolves with the first outcome after `since` that `accept`s, waiting at most `within` ms. */
const firstAfter = (load: Load, since: number, accept: (o: Outcome) => boolean, within: number, what: string): Promise<Outcome> =>
  valueOf(what, () => load.outcomes.find((o) => o.sentAt >= since && accept(o)), within, 20);

/** Polls a gauge and records each change with its time (the breaker's transitions). */
function watchGauge(url: string, name: string, labels: Record<string, string>) {
  const changes: Array<{ at: number; value: number }> = [];
  let stopped = false;
  const done = (async () => {
    while (!stopped) {
      const value = await metricValue(url, name, labels).catch(() => NaN);
      if (!Number.isNaN(value) && changes.at(-1)?.value !== value) changes.push({ at: Date.now(), value });
      await sleep(50); // the sampling interval of this recorder, not a wait for anything
    }
  })();
  return { changes, stop: async () => ((stopped = true), await done) };
}

describe.skipIf(!template)('chaos under load (separate processes)', () => {
  let graph: ProcessGraph;
  let databaseUrl: string;
  let drop: () => Promise<void>;
  let headers: Record<string, string>;
  let gatewayExited = false;

  beforeAll(async () => {
    const clone = await cloneDatabase(template as string);
    ({ url: databaseUrl, drop } = clone);
    graph = await startProcessGraph(databaseUrl, {
      env: { REDIS_URL, CACHE_ENABLED: 'false', RATE_LIMIT_ENABLED: 'false' },
      gatewayEnv: { SUBGRAPH_TIMEOUT_MS: String(TIMEOUT_MS), BREAKER_RESET_MS: String(BREAKER_RESET_MS) },
    });
    void graph.process('gateway').exited.then(() => (gatewayExited = true));
    headers = { authorization: `Bearer ${await graph.tokenFor('alice@example.com')}` };
  });
  afterAll(async () => {
    await graph?.stop();
    await drop?.();
  });

  /** The gateway never went down: its process is the one started first, and it answers. */
  const expectGatewayAlive = async () => {
    expect(gatewayExited).toBe(false);
    expect((await fetch(graph.gatewayUrl.replace(/graphql$/, 'health'))).status).toBe(200);
  };

  it('(a) orders SIGKILLed mid-load, then restarted: partial data while dead, full data within 5 s of ready', { timeout: 120_000 }, async () => {
    const load = startLoad(graph.gatewayUrl, { query: QUERY, headers }, WORKERS);
    let restarted = false;
    try {
      // The first answers can take seconds on a loaded machine (cold plans, pool connects): wait
      // for a steady stream rather than a fixed time, so 'before' is never empty.
      await load.warmedUp(WARM_ANSWERS);
      const killedAt = Date.now();
      graph.signal('orders', 'SIGKILL');
      await graph.process('orders').exited;
      const goneAt = Date.now();
      await sleep(3000); // on purpose: three seconds of load with orders dead
      const restartAt = Date.now();
      await graph.start('orders');
      restarted = true;
      const readyAt = Date.now();
      const firstFull = await firstAfter(load, readyAt, (o) => verdict(o) === 'full', RECOVERY_BOUND_MS + 5000, 'full answer after the restart');
      await sleep(2000); // on purpose: two seconds of load after recovery
      const outcomes = await load.stop();

      const before = outcomes.filter((o) => o.at < killedAt);
      const dead = outcomes.filter((o) => o.sentAt > goneAt && o.at < readyAt);
      const after = outcomes.filter((o) => firstFull && o.sentAt > firstFull.at);
      const seconds = (outcomes.at(-1)!.at - outcomes[0]!.sentAt) / 1000;
      console.log([
        `chaos (a) orders SIGKILL: ${outcomes.length} requests in ${seconds.toFixed(1)} s (${(outcomes.length / seconds).toFixed(1)}/s, ${WORKERS} workers)`,
        `  while dead: ${dead.length} responses, all HTTP 200 with users+products data; latency ${ms(dead.map((o) => o.latencyMs))}; reasons ${JSON.stringify(reasons(dead))}`,
        `  restart: process ready ${readyAt - restartAt} ms after the start command; full data ${firstFull ? firstFull.at - readyAt : 'never'} ms after ready (${firstFull ? firstFull.at - restartAt : '-'} ms after the start command, breaker reset ${BREAKER_RESET_MS} ms)`,
      ].join('\n'));

      expect(outcomes.filter((o) => o.status !== 200).map((o) => `${o.status} ${o.failure ?? ''}`)).toEqual([]);
      expect(describeOther(outcomes)).toEqual([]);
      expect(before.length).toBeGreaterThan(5);
      expect(before.every((o) => verdict(o) === 'full')).toBe(true);
      expect(dead.length).toBeGreaterThan(10);
      expect(dead.filter((o) => verdict(o) !== 'orders-missing')).toEqual([]);
      expect(firstFull).toBeDefined();
      expect(firstFull!.at - readyAt).toBeLessThan(RECOVERY_BOUND_MS);
      expect(after.length).toBeGreaterThan(5);
      expect(after.filter((o) => verdict(o) !== 'full').map((o) => JSON.stringify(o.body).slice(0, 300))).toEqual([]);
      await expectGatewayAlive();
    } finally {
      await load.stop();
      if (!restarted) await graph.start('orders');
    }
  });

  it('(b) products frozen (SIGSTOP) past the timeout: the breaker opens and fails fast; thawed, it closes within 5 s', { timeout: 120_000 }, async () => {
    const breaker = watchGauge(graph.gatewayUrl, 'circuit_breaker_state', { subgraph: 'products' });
    const load = startLoad(graph.gatewayUrl, { query: QUERY, headers }, WORKERS);
    let thawed = false;
    try {
      await load.warmedUp(WARM_ANSWERS);
      const stoppedAt = Date.now();
      graph.signal('products', 'SIGSTOP');
      const openAt = await valueOf('opening of the breaker', () => breaker.changes.find((c) => c.at > stoppedAt && c.value === 2)?.at, 25_000);
      await sleep(3000); // on purpose: open, failing fast, a probe every BREAKER_RESET_MS
      const contAt = Date.now();
      graph.signal('products', 'SIGCONT');
      thawed = true;
      const firstFull = await firstAfter(load, contAt, (o) => verdict(o) === 'full', RECOVERY_BOUND_MS + 5000, 'full answer after the thaw');
      await sleep(2000); // on purpose: two seconds of load after recovery
      const outcomes = await load.stop();
      await breaker.stop();
      const closedAt = breaker.changes.find((c) => c.at > contAt && c.value === 0)?.at;

      const frozen = outcomes.filter((o) => o.sentAt > stoppedAt && o.at < contAt);
      const reasonsOf = (o: Outcome) => new Set(errorsOf(o.body).map((e) => e.extensions?.reason));
      const fast = frozen.filter((o) => openAt !== undefined && o.sentAt > openAt && [...reasonsOf(o)].every((r) => r === 'circuit_open'));
      const timedOut = frozen.filter((o) => reasonsOf(o).has('timeout'));
      const after = outcomes.filter((o) => firstFull && o.sentAt > firstFull.at);
      console.log([
        `chaos (b) products SIGSTOP (timeout ${TIMEOUT_MS} ms, breaker reset ${BREAKER_RESET_MS} ms): ${outcomes.length} requests, ${frozen.length} while frozen, all HTTP 200 with users+orders data; reasons ${JSON.stringify(reasons(frozen))}`,
        `  breaker open ${openAt ? openAt - stoppedAt : 'never'} ms after SIGSTOP; transitions ${breaker.changes.map((c) => `${c.value}@${c.at - stoppedAt}ms`).join(' ')}`,
        `  latency: timed-out responses ${ms(timedOut.map((o) => o.latencyMs))} (${timedOut.length}); failing fast while open ${ms(fast.map((o) => o.latencyMs))} (${fast.length})`,
        `  thawed: breaker closed ${closedAt ? closedAt - contAt : 'never'} ms after SIGCONT, full data ${firstFull ? firstFull.at - contAt : 'never'} ms after SIGCONT`,
      ].join('\n'));

      expect(outcomes.filter((o) => o.status !== 200).map((o) => `${o.status} ${o.failure ?? ''}`)).toEqual([]);
      expect(describeOther(outcomes)).toEqual([]);
      expect(frozen.length).toBeGreaterThan(10);
      // A request sent just after the freeze can join an identical products fetch sent before it
      // (outbound deduplication) whose answer was already on its way: one of its fetches served,
      // the other not. Every fetch ends by its deadline, so one sent a timeout after the freeze
      // can only find products missing.
      expect(frozen.filter((o) => verdict(o) !== 'products-missing' && !(o.sentAt < stoppedAt + TIMEOUT_MS && verdict(o) === 'products-partly-missing'))).toEqual([]);
      expect(timedOut.length).toBeGreaterThan(0);
      expect(percentile(timedOut.map((o) => o.latencyMs), 50)).toBeGreaterThanOrEqual(TIMEOUT_MS * 0.9); // they did wait for the timeout
      expect(openAt).toBeDefined();
      // Opossum judges the last 10 s (rollingCountTimeout): the successes from before the freeze
      // must be outvoted first, so under load the breaker opens only after up to that window.
      expect(openAt! - stoppedAt).toBeLessThan(15_000);
      expect(fast.length).toBeGreaterThan(10);
      expect(percentile(fast.map((o) => o.latencyMs), 50)).toBeLessThan(TIMEOUT_MS / 2); // open: no waiting for the timeout
      expect(closedAt).toBeDefined();
      expect(firstFull).toBeDefined();
      expect(firstFull!.at - contAt).toBeLessThan(RECOVERY_BOUND_MS);
      expect(after.length).toBeGreaterThan(5);
      expect(after.filter((o) => verdict(o) !== 'full').map((o) => JSON.stringify(o.body).slice(0, 300))).toEqual([]);
      await expectGatewayAlive();
    } finally {
      await load.stop();
      await breaker.stop();
      if (!thawed) graph.signal('products', 'SIGCONT');
    }
  });

  it('(c) PostgreSQL terminates every subgraph connection mid-load: no 5xx, full data again within 5 s', { timeout: 120_000 }, async () => {
    const load = startLoad(graph.gatewayUrl, { query: QUERY, headers }, WORKERS);
    try {
      await load.warmedUp(WARM_ANSWERS);
      const database = new URL(databaseUrl).pathname.slice(1);
      const admin = new pg.Client({ connectionString: databaseUrl.replace(/\/[^/]+$/, '/postgres') });
      await admin.connect();
      const terminatedAt = Date.now();
      const { rows } = await admin.query<{ n: number }>('SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [database]);
      await admin.end();
      const firstFull = await firstAfter(load, terminatedAt, (o) => verdict(o) === 'full', RECOVERY_BOUND_MS + 5000, 'full answer after the termination');
      await sleep(2000); // on purpose: two seconds of load after recovery
      const outcomes = await load.stop();
      const hit = outcomes.filter((o) => o.at >= terminatedAt && verdict(o) !== 'full');
      const after = outcomes.filter((o) => firstFull && o.sentAt > firstFull.at + 1000);
      console.log(`chaos (c) ${rows[0]!.n} PostgreSQL connections terminated under load: ${outcomes.length} requests, ${hit.length} answered with errors (${JSON.stringify(reasons(hit))}), full data ${firstFull ? firstFull.at - terminatedAt : 'never'} ms after the termination`);

      expect(rows[0]!.n).toBeGreaterThanOrEqual(3);
      expect(outcomes.filter((o) => o.status !== 200).map((o) => `${o.status} ${o.failure ?? ''}`)).toEqual([]);
      // Requests that met a dead connection get an error, never a leaked detail or a crash.
      for (const o of hit) for (const e of errorsOf(o.body)) expect(e.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
      expect(firstFull).toBeDefined();
      expect(firstFull!.at - terminatedAt).toBeLessThan(RECOVERY_BOUND_MS);
      expect(after.length).toBeGreaterThan(5);
      expect(after.filter((o) => verdict(o) !== 'full').map((o) => JSON.stringify(o.body).slice(0, 300))).toEqual([]);
      for (const url of Object.values(graph.subgraphUrls)) expect((await fetch(url.replace(/graphql$/, 'ready'))).status).toBe(200);
      await expectGatewayAlive();
    } finally {
      await load.stop();
    }
  });
});
