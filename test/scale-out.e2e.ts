// The production shape keeps its promises with replicas coming and going under load: the stack of
// `npm run stack` (HAProxy in front of 2 gateway replicas, and of 2 replicas of each subgraph, the
// compiled build under plain node, PostgreSQL and Redis), started by the harness on ports of its
// own, driven by autocannon through the balancer while this file kills and restarts replicas.
//
// - SIGKILL a gateway, then an orders replica, mid-load: 0 failed client requests (HAProxy
//   retries what the dead replica dropped on the other one), and the replica, restarted, is UP in
//   HAProxy's stats again and takes requests.
// - A rolling restart of every gateway under load (SIGTERM, drain, exit, start, /ready, next): 0 failed.
// - One client, one budget, whichever replica it reaches (budgets live in Redis).
// - Write then read through the balancer, SCALE_OUT_ROUNDS times: 0 stale reads, lists included.
// - Orders placed while an orders replica is killed, clients retrying with their idempotency keys
//   (a third sent twice at once): 0 lost, 0 duplicated, exactly the stock sold. The truth is read
//   from the stack's database, not from the answers.
//
// Knobs (CI defaults): SCALE_OUT_LOAD_SECONDS (6, the least each load runs), SCALE_OUT_CONNECTIONS
// (8), SCALE_OUT_ROUNDS (1000), SCALE_OUT_ORDERS (60). HAProxy is required under CI (.ci/run
// installs it); elsewhere the file skips without it.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { generateSeed, seededUserEmail } from '@commerce/db/seed-data';
import { counter, haproxyBinary, serverRow } from '@commerce/harness/haproxy';
import { uniqueName } from '@commerce/harness/postgres';
import { ROOT } from '@commerce/harness/processes';
import { backendOf, freeStackPort, type Stack, stackLayout, startStack } from '@commerce/harness/stack';
import { build } from '../scripts/build.js';
import { metricSum } from './support/graph.js';

const template = inject('templateDatabase'); // null: no PostgreSQL (under CI the run fails before)
const redisUrl = inject('redisUrl');
const HAPROXY = haproxyBinary();

const knob = (name: string, fallback: number): number => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer`);
  return value;
};
const LOAD_SECONDS = knob('SCALE_OUT_LOAD_SECONDS', 6);
const CONNECTIONS = knob('SCALE_OUT_CONNECTIONS', 8);
const ROUNDS = knob('SCALE_OUT_ROUNDS', 1000);
const ORDERS = knob('SCALE_OUT_ORDERS', 60);
/** Fewer units than orders, so some are rejected and "exactly the stock sold" means something. */
const STOCK = Math.max(1, Math.floor(ORDERS * 0.4));
const BUYERS = Math.min(30, ORDERS);
/** The budget test's tier: a small bucket that all but never refills. */
const BUDGET_TIER = 'scale-out';
const BUDGET_CAPACITY = 120;

const PRODUCTS = generateSeed().products;
/** Touches all three subgraphs and is never a cache hit (a new order id each time): every request reaches the replicas. */
const LOAD = 'query Load($id: ID!) { me { id } order(id: $id) { id status } products(first: 2) { edges { node { id name } } } }';
const PRODUCT = 'query Product($id: ID!) { product(id: $id) { id name price { amount } stock } }';
const NEWEST = 'query Newest { products(first: 5, orderBy: { field: CREATED_AT, direction: DESC }) { totalCount edges { node { id name } } } }';
const IN_STOCK = 'query InStock { products(filter: { inStock: true }, first: 1) { totalCount } }';
const UPDATE = 'mutation Update($id: ID!, $input: UpdateProductInput!) { updateProduct(id: $id, input: $input) { product { id name } userErrors { code } } }';
const CREATE = 'mutation Create($input: CreateProductInput!) { createProduct(input: $input) { product { id } userErrors { code message } } }';
const CREATE_CLIENT = 'mutation Client($input: CreateApiClientInput!) { createApiClient(input: $input) { apiKey userErrors { message } } }';
const BUDGET_QUERY = '{ products(first: 2) { totalCount edges { node { id } } } }';
const PLACE = 'mutation Place($input: PlaceOrderInput!) { placeOrder(input: $input) { order { id status } userErrors { field code message } } }';

interface Answer {
  status: number;
  servedBy: string;
  data?: any;
  errors?: Array<{ message: string; extensions?: Record<string, unknown> }>;
  headers: Headers;
}

async function gql(url: string, query: string, variables?: Record<string, unknown>, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query, variables }), signal: AbortSignal.timeout(15_000) });
  const text = await response.text();
  let body: { data?: unknown; errors?: Answer['errors'] } = {};
  try {
    body = JSON.parse(text);
  } catch {
    body = { errors: [{ message: `not JSON: ${text.slice(0, 200)}` }] };
  }
  return { status: response.status, servedBy: response.headers.get('x-served-by') ?? '', headers: response.headers, ...body } as Answer;
}

// ---------------------------------------------------------------------------------------------
// Load: autocannon through the balancer, every answer judged.

interface LoadResult {
  sent: number;
  failed: number;
  failures: string[];
  seconds: number;
  servedBy: Record<string, number>;
}

interface Load {
  answered(): number;
  /** Resolves once `count` answers have come (the stack is warm under this load). */
  warmedUp(count: number): Promise<void>;
  /** Stops once the load has run LOAD_SECONDS at least, and waits for what is in flight. */
  stop(): Promise<LoadResult>;
}

function startLoad(url: string, headers: Record<string, string>, body: () => string, check: (data: any) => boolean): Load {
  let answered = 0;
  let badAnswers = 0;
  const failures: string[] = [];
  const servedBy: Record<string, number> = {};
  const note = (why: string) => {
    if (failures.length < 5) failures.push(why);
  };
  const started = performance.now();
  let finished: (result: autocannon.Result) => void = () => {};
  const done = new Promise<autocannon.Result>((resolve) => (finished = resolve));
  const instance = autocannon({
    url,
    method: 'POST',
    connections: CONNECTIONS,
    duration: 600, // stopped by the scenario
    timeout: 15,
    headers: { 'content-type': 'application/json', ...headers },
    requests: [
      {
        setupRequest: (request) => ({ ...request, body: body() }),
        onResponse: (status, text, _context, responseHeaders) => {
          answered += 1;
          const by = String(responseHeaders?.['x-served-by'] ?? '?');
          servedBy[by] = (servedBy[by] ?? 0) + 1;
          let ok = status === 200;
          if (ok) {
            try {
              const json = JSON.parse(text) as { data?: unknown; errors?: unknown };
              ok = json.errors === undefined && check(json.data);
            } catch {
              ok = false;
            }
          }
          if (!ok) {
            badAnswers += 1;
            note(`HTTP ${status} from ${by}: ${text.slice(0, 300)}`);
          }
        },
      },
    ],
  }, (error, result) => {
    if (error) note(`autocannon: ${error.message}`);
    finished(result);
  });
  instance.on('reqError', (error: Error) => note(`request error: ${error.message}`));
  return {
    answered: () => answered,
    warmedUp: async (count) => {
      const deadline = performance.now() + 30_000;
      while (answered < count) {
        if (performance.now() > deadline) throw new Error(`load: ${answered} of ${count} answers in 30 s`);
        await sleep(20);
      }
    },
    stop: async () => {
      const left = LOAD_SECONDS * 1000 - (performance.now() - started);
      if (left > 0) await sleep(left);
      instance.stop();
      const errors = (await done)?.errors ?? 0; // connection errors and timeouts: no answer at all
      return { sent: answered + errors, failed: badAnswers + errors, failures, seconds: (performance.now() - started) / 1000, servedBy };
    },
  };
}

/** The load of the kill tests: signed in as the admin (a budget that does not get in the way), a new order id each time. */
const queryLoad = (stack: Stack, token: string) =>
  startLoad(stack.url, { authorization: `Bearer ${token}` }, () => JSON.stringify({ query: LOAD, variables: { id: randomUUID() } }), (data) => typeof data?.me?.id === 'string' && data.order === null && data.products?.edges?.length === 2);

// ---------------------------------------------------------------------------------------------

const figures: string[] = [];
const totals = { sent: 0, failed: 0 };
const count = (result: LoadResult) => {
  totals.sent += result.sent;
  totals.failed += result.failed;
};
const ms = (value: number) => `${Math.round(value)} ms`;

if (!HAPROXY) {
  if (process.env.CI) {
    describe('scale-out through HAProxy', () => {
      it('needs HAProxy (.ci/run installs it: apt-get install -y haproxy)', () => {
        throw new Error('HAProxy is required in CI but not installed (command -v haproxy finds nothing)');
      });
    });
  } else {
    console.warn('SKIPPING test/scale-out.e2e.ts: HAProxy is not installed (Debian: apt-get install -y haproxy)');
  }
}

describe.runIf(HAPROXY && template && redisUrl)('the stack under load: 2 gateways and 2 replicas of each subgraph behind HAProxy', () => {
  let home: string;
  let stack: Stack;
  let admin: Record<string, string>;
  let adminToken: string;
  const fileStarted = performance.now();

  beforeAll(async () => {
    // The image's layout: dist/ beside a node_modules and nothing else (as compiled.e2e).
    home = mkdtempSync(join(tmpdir(), 'commerce-stack-build-'));
    await build(join(home, 'dist'));
    symlinkSync(join(ROOT, 'node_modules'), join(home, 'node_modules'), 'dir');
    const started = performance.now();
    stack = await startStack({
      build: join(home, 'dist'),
      layout: stackLayout({ port: await freeStackPort() }),
      database: uniqueName('scale_out'),
      prefix: uniqueName('scaleout'),
      redisUrl: redisUrl!,
      ephemeral: true,
      gatewayEnv: {
        // The load and the readers must not run into their budgets; the budget test has a tier of its own.
        RATE_LIMIT_ANONYMOUS: '100000000,1000000',
        RATE_LIMIT_ADMIN: '100000000,1000000',
        RATE_LIMIT_TIERS: JSON.stringify({ [BUDGET_TIER]: `${BUDGET_CAPACITY},0.001` }),
      },
      // A killed orders replica's unacknowledged events go to the other after 2 s, not 10.
      subgraphEnv: { EVENT_CLAIM_IDLE_MS: '2000' },
    });
    figures.push(`stack: ${stack.replicas.length} replicas and HAProxy up in ${ms(performance.now() - started)} (database created, migrated, seeded); ${stack.pools.subgraphReplicas} × DATABASE_POOL_SIZE ${stack.pools.poolSize}`);
    adminToken = await stack.tokenFor('admin@example.com', 'ADMIN');
    admin = { authorization: `Bearer ${adminToken}` };
  }, 300_000);

  afterAll(async () => {
    await stack?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
    figures.push(`through the balancer under autocannon: ${totals.sent} requests sent, ${totals.failed} failed`);
    figures.push(`file: ${ms(performance.now() - fileStarted)}`);
    console.log(`scale-out closing figures (autocannon ${CONNECTIONS} connections, loads of at least ${LOAD_SECONDS} s):\n  ${figures.join('\n  ')}`);
  });

  it("serves the README's cross-subgraph query through the balancer, with both gateways UP in HAProxy's stats", async () => {
    const answer = await gql(stack.url, 'query Orders { users(first: 3) { edges { node { name orders(first: 5) { totalCount edges { node { id items { product { name } } } } } } } } }', {}, admin);
    expect(answer.errors).toBeUndefined();
    expect(answer.data.users.edges).toHaveLength(3);
    const stats = await stack.stats();
    for (const replica of stack.replicas) expect(serverRow(stats, backendOf(replica.service), replica.name)?.status, replica.name).toBe('UP');
  });

  /** SIGKILL under load, wait for HAProxy to see it DOWN, start it again, wait for UP and for it to take requests. */
  async function killUnderLoad(victim: string): Promise<void> {
    const backend = backendOf(stack.replica(victim).service);
    const before = await stack.stats();
    const load = queryLoad(stack, adminToken);
    await load.warmedUp(100);
    const killedAt = performance.now();
    await stack.kill(victim);
    await stack.waitFor(victim, 'DOWN', 15_000);
    const downMs = performance.now() - killedAt;
    const restartedAt = performance.now();
    await stack.start(victim);
    const readyMs = performance.now() - restartedAt;
    await stack.waitFor(victim, 'UP', 15_000);
    const upMs = performance.now() - killedAt;
    // Rejoined: it answers requests again.
    const answeredBy = async () => counter(serverRow(await stack.stats(), backend, victim), 'hrsp_2xx');
    const atUp = await answeredBy();
    const deadline = performance.now() + 15_000;
    while ((await answeredBy()) < atUp + 20) {
      if (performance.now() > deadline) throw new Error(`${victim} is UP but took no requests`);
      await sleep(50);
    }
    const result = await load.stop();
    count(result);
    const after = await stack.stats();
    const delta = (column: string) => counter(serverRow(after, backend, 'BACKEND'), column) - counter(serverRow(before, backend, 'BACKEND'), column);
    figures.push(
      `${victim} SIGKILLed under load: ${result.sent} requests in ${result.seconds.toFixed(1)} s, ${result.failed} failed; DOWN in HAProxy ${ms(downMs)} after the kill, restarted (ready in ${ms(readyMs)}), UP ${ms(upMs)} after the kill; HAProxy retried ${delta('wretr')} and redispatched ${delta('wredis')} requests of ${backend}`,
    );
    expect(result.failures, `HAProxy's log (failed requests only):\n${stack.haproxyOutput().slice(-3000)}`).toEqual([]);
    expect(result.failed).toBe(0);
    expect(result.sent).toBeGreaterThan(100);
  }

  it('SIGKILL of a gateway replica mid-load: 0 failed requests; restarted, it is UP again and takes requests', { timeout: 120_000 }, async () => {
    await killUnderLoad('gateway-1');
  });

  it('SIGKILL of an orders replica mid-load: 0 failed requests; restarted, it is UP again and takes requests', { timeout: 120_000 }, async () => {
    await killUnderLoad('orders-1');
  });

  it('a rolling restart of every gateway under load (SIGTERM, drain, exit, start, /ready, next): 0 failed requests', { timeout: 180_000 }, async () => {
    const load = queryLoad(stack, adminToken);
    await load.warmedUp(100);
    const steps: string[] = [];
    for (const replica of stack.replicas.filter((r) => r.service === 'gateway')) {
      const { code, ms: drained } = await stack.terminate(replica.name);
      expect(code, `${replica.name} exit code`).toBe(0);
      const started = performance.now();
      await stack.start(replica.name);
      const ready = performance.now() - started;
      await stack.waitFor(replica.name, 'UP', 15_000);
      steps.push(`${replica.name} drained and exited in ${ms(drained)}, ready in ${ms(ready)}, UP ${ms(performance.now() - started)} after its start`);
    }
    const result = await load.stop();
    count(result);
    figures.push(`rolling restart of the gateways under load: ${result.sent} requests in ${result.seconds.toFixed(1)} s, ${result.failed} failed; ${steps.join('; ')}`);
    expect(result.failures, `HAProxy's log (failed requests only):\n${stack.haproxyOutput().slice(-3000)}`).toEqual([]);
    expect(result.failed).toBe(0);
  });

  it("a client's budget is one budget whichever replica it reaches: the sum admitted across replicas is one bucket", { timeout: 120_000 }, async () => {
    const created = await gql(stack.url, CREATE_CLIENT, { input: { name: `budget-${Date.now().toString(36)}`, tier: BUDGET_TIER } }, admin);
    const apiKey = created.data?.createApiClient?.apiKey as string;
    expect(apiKey, JSON.stringify(created)).toBeTruthy();
    const ask = () => gql(stack.url, BUDGET_QUERY, undefined, { 'x-api-key': apiKey });
    // A budget is exact while Redis answers in time; a call it did not answer (CACHE_TIMEOUT_MS on
    // a loaded machine) is decided by the replica alone and counted as a fallback, by design.
    // Counted from before this client's first request: those first requests can fall back too.
    const fallbacks = async () => (await Promise.all(stack.replicas.filter((r) => r.service === 'gateway').map((r) => metricSum(r.url, 'rate_limit_fallbacks_total')))).reduce((a, b) => a + b, 0);
    const fallbacksBefore = await fallbacks();
    const first = await ask();
    expect(first.status).toBe(200);
    expect(first.headers.get('ratelimit-limit')).toBe(String(BUDGET_CAPACITY));
    const cost = BUDGET_CAPACITY - Number(first.headers.get('ratelimit-remaining'));
    expect(cost).toBeGreaterThan(0);
    const bucket = Math.floor(BUDGET_CAPACITY / cost);
    const admitted: Record<string, number> = { [first.servedBy]: 1 };
    const refused: Record<string, number> = {};
    const other: string[] = [];
    // One at a time until both gateways have answered this client (each has then verified its
    // API key: otherwise the other's first requests wait on that while the first drains the bucket).
    let sent = 1;
    while (Object.keys(admitted).length < 2 && sent < 8) {
      const answer = await ask();
      sent += 1;
      expect(answer.status).toBe(200);
      admitted[answer.servedBy] = (admitted[answer.servedBy] ?? 0) + 1;
    }
    // Then twice what the bucket holds, 24 at a time: the balancer spreads them over both gateways.
    let next = 0;
    const total = 2 * bucket;
    await Promise.all(
      Array.from({ length: 24 }, async () => {
        while (next < total) {
          next += 1;
          const answer = await ask();
          if (answer.status === 200 && !answer.errors) admitted[answer.servedBy] = (admitted[answer.servedBy] ?? 0) + 1;
          else if (answer.status === 429 && answer.errors?.[0]?.extensions?.code === 'RATE_LIMITED') refused[answer.servedBy] = (refused[answer.servedBy] ?? 0) + 1;
          else other.push(`${answer.status} ${JSON.stringify(answer.errors ?? answer.data)}`);
        }
      }),
    );
    const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);
    const failedOpen = (await fallbacks()) - fallbacksBefore;
    figures.push(`one client's budget of ${BUDGET_CAPACITY} (refill 0.001/s), ${cost} a request, asked ${sent + total} times through the balancer: ${sum(admitted)} admitted (${JSON.stringify(admitted)}), ${sum(refused)} refused (${JSON.stringify(refused)}), ${failedOpen} decided by a replica alone because Redis did not answer in time`);
    expect(other).toEqual([]);
    // Twice the bucket was asked for, through both replicas: with a bucket each they would have
    // admitted more than one bucket's worth.
    // Exactly one bucket while the store decided every call; a decision the replica made alone
    // (a fallback: it may admit or refuse) can add at most itself.
    if (failedOpen === 0) expect(sum(admitted)).toBe(bucket);
    else expect(sum(admitted)).toBeLessThanOrEqual(bucket + failedOpen);
    expect(failedOpen).toBeLessThan(bucket); // the store did decide, for most calls
    expect(Object.keys(admitted).sort()).toEqual(['gateway-1', 'gateway-2']);
    expect(Object.keys(refused).sort()).toEqual(['gateway-1', 'gateway-2']);
  });

  it(`${ROUNDS} rounds of write then read through the balancer, the reads on any replica: 0 stale reads, lists included`, { timeout: 240_000 }, async () => {
    const read = (query: string, variables?: Record<string, unknown>) => gql(stack.url, query, variables);
    let stale = 0;
    let hits = 0;
    let warmReads = 0;
    let crossReplica = 0;
    const samples: string[] = [];
    const check = (ok: boolean, what: string) => {
      if (ok) return;
      stale += 1;
      if (samples.length < 5) samples.push(what);
    };
    const write = async (query: string, variables: Record<string, unknown>) => {
      const answer = await gql(stack.url, query, variables, admin);
      expect(answer.errors, JSON.stringify(answer.errors)).toBeUndefined();
      return answer;
    };
    const crossed = (written: Answer, ...reads: Answer[]) => {
      if (reads.some((answer) => answer.servedBy !== written.servedBy)) crossReplica += 1;
    };
    /** The old value in the cache first (a hit, if no other lane's write purged a tag it shares), so a stale read would have something to serve. */
    const warm = async (query: string, variables?: Record<string, unknown>) => {
      warmReads += 1;
      for (let i = 0; i < 20; i++) {
        if ((await read(query, variables)).headers.get('x-cache') === 'HIT') {
          hits += 1;
          return;
        }
        await sleep(5);
      }
    };
    const productRound = async (round: number, id: string) => {
      await warm(PRODUCT, { id });
      const name = `Round ${round}`;
      const amount = `${1 + (round % 90)}.${String(round % 100).padStart(2, '0')}`;
      const written = await write(UPDATE, { id, input: { name, price: amount } });
      expect(written.data?.updateProduct.userErrors).toEqual([]);
      const [a, b] = await Promise.all([read(PRODUCT, { id }), read(PRODUCT, { id })]);
      crossed(written, a, b);
      for (const answer of [a, b]) check(answer.data?.product.name === name && answer.data?.product.price.amount === amount, `product round ${round} on ${answer.servedBy}: ${JSON.stringify(answer.data)}`);
    };
    const listRound = async (round: number) => {
      await warm(NEWEST);
      const before = (await read(NEWEST)).data?.products.totalCount as number;
      const created = await write(CREATE, { input: { sku: `SO-${round}-${Date.now()}`, name: `New ${round}`, category: 'tests', price: '1.00', stock: 5 } });
      const id = created.data?.createProduct.product?.id as string;
      expect(id).toBeTruthy();
      const after = await read(NEWEST);
      crossed(created, after);
      check(after.data?.products.totalCount === before + 1 && after.data?.products.edges[0]?.node.id === id, `list round ${round} on ${after.servedBy}: ${JSON.stringify(after.data)}`);
    };
    const stockRound = async (round: number, id: string) => {
      await write(UPDATE, { id, input: { stock: 10 } });
      await warm(IN_STOCK);
      const before = (await read(IN_STOCK)).data?.products.totalCount as number;
      const written = await write(UPDATE, { id, input: { stock: 0 } });
      const after = await read(IN_STOCK);
      crossed(written, after);
      check(after.data?.products.totalCount === before - 1, `stock list round ${round} on ${after.servedBy}: ${before} -> ${after.data?.products.totalCount}`);
    };
    // Lanes at once, each on things no other lane touches: 60 % product rounds over three lanes of
    // disjoint products, 40 % list and stock-list rounds in one lane (they share the counts).
    const productRounds = Math.round(ROUNDS * 0.6);
    const started = performance.now();
    const lanes = [0, 1, 2].map(async (lane) => {
      const mine = PRODUCTS.filter((_, i) => i % 4 === lane);
      for (let round = lane; round < productRounds; round += 3) await productRound(round, mine[round % mine.length]!.id);
    });
    const lists = (async () => {
      const mine = PRODUCTS.filter((_, i) => i % 4 === 3);
      for (let round = productRounds; round < ROUNDS; round++) await (round % 2 === 0 ? listRound(round) : stockRound(round, mine[round % mine.length]!.id));
    })();
    await Promise.all([...lanes, lists]);
    figures.push(`${ROUNDS} rounds of write then read in ${ms(performance.now() - started)}: ${stale} stale reads; ${crossReplica} rounds read from the other replica than the write's; ${hits}/${warmReads} warm reads were cache hits`);
    expect(samples).toEqual([]);
    expect(stale).toBe(0);
    // Not vacuous: the balancer really sent reads to the other replica, and the cache really served.
    expect(crossReplica).toBeGreaterThan(ROUNDS / 10);
    expect(hits / warmReads).toBeGreaterThan(0.8);
  });

  it(`${ORDERS} orders placed while an orders replica is killed, clients retrying with their keys: 0 lost, 0 duplicated, exactly the stock sold`, { timeout: 180_000 }, async () => {
    const created = await gql(stack.url, CREATE, { input: { sku: `SO-STOCK-${Date.now()}`, name: 'Scale-out item', category: 'tests', price: '2.50', stock: STOCK } }, admin);
    const product = created.data?.createProduct.product?.id as string;
    expect(product, JSON.stringify(created)).toBeTruthy();
    const buyers = await Promise.all(Array.from({ length: BUYERS }, async (_, i) => ({ authorization: `Bearer ${await stack.tokenFor(seededUserEmail(300 + i))}` })));
    const run = Date.now().toString(36);
    const before = await stack.stats();
    const acknowledged = new Map<string, string>(); // key -> order id
    const hard: string[] = [];
    let retries = 0;
    /** One client's request until it has an order (the order's id), retrying with the same key. */
    const send = async (key: string, input: Record<string, unknown>, who: Record<string, string>): Promise<string | null> => {
      for (let attempt = 1; attempt <= 30; attempt++) {
        const answer = await gql(stack.url, PLACE, { input }, who).catch((error: Error) => ({ status: 0, errors: [{ message: error.message }] }) as Partial<Answer>);
        const code = answer.errors?.[0]?.extensions?.code ?? answer.data?.placeOrder?.userErrors?.[0]?.code;
        const order = answer.data?.placeOrder?.order as { id: string } | null | undefined;
        if (answer.status === 200 && order) return order.id;
        // What a client retries with the same key: no answer at all, the balancer's 5xx, the
        // orders subgraph unavailable to the gateway, or TRY_AGAIN (nothing written).
        if (answer.status === 0 || (answer.status ?? 0) >= 500 || code === 'SUBGRAPH_UNAVAILABLE' || code === 'TRY_AGAIN') {
          retries += 1;
          await sleep(100);
          continue;
        }
        hard.push(`${key}: ${answer.status} ${JSON.stringify(answer.errors ?? answer.data)}`);
        return null;
      }
      hard.push(`${key}: no order after 30 attempts`);
      return null;
    };
    let doubled = 0;
    const place = async (n: number) => {
      const key = `so-${run}-${n}`;
      const input = { items: [{ productId: product, quantity: 1 }], idempotencyKey: key };
      // Every third order is sent twice at once (a double click, a client that gave up waiting
      // and sent again): both copies must get the same order, whichever replicas they reach.
      const copies = n % 3 === 0 ? 2 : 1;
      doubled += copies - 1;
      const ids = await Promise.all(Array.from({ length: copies }, () => send(key, input, buyers[n % BUYERS]!)));
      if (ids.some((id) => id === null)) return;
      if (new Set(ids).size > 1) hard.push(`${key}: two orders for one key (${ids.join(', ')})`);
      acknowledged.set(key, ids[0]!);
    };
    let next = 0;
    const clients = Promise.all(
      Array.from({ length: 10 }, async () => {
        while (next < ORDERS) await place(next++);
      }),
    );
    // The kill, once orders are in flight on both replicas.
    while (acknowledged.size < Math.min(5, ORDERS) && next < ORDERS) await sleep(10);
    const killedAt = performance.now();
    const inFlight = next - acknowledged.size;
    await stack.kill('orders-2');
    await stack.waitFor('orders-2', 'DOWN', 15_000);
    const downMs = performance.now() - killedAt;
    await stack.start('orders-2');
    await stack.waitFor('orders-2', 'UP', 15_000);
    const upMs = performance.now() - killedAt;
    await clients;
    const placedMs = performance.now() - killedAt;
    expect(hard).toEqual([]);
    expect(acknowledged.size).toBe(ORDERS);

    // The truth, in the stack's database, once every order is decided.
    const db = new pg.Client({ connectionString: stack.databaseUrl });
    await db.connect();
    try {
      let rows: Array<{ id: string; status: string }> = [];
      const deadline = performance.now() + 60_000;
      for (;;) {
        rows = (await db.query('SELECT o.id, o.status FROM orders.orders o WHERE EXISTS (SELECT 1 FROM orders.order_items i WHERE i.order_id = o.id AND i.product_id = $1)', [product])).rows;
        if (rows.length >= acknowledged.size && !rows.some((row) => row.status === 'PENDING')) break;
        if (performance.now() > deadline) throw new Error(`orders still undecided 60 s on: ${rows.filter((row) => row.status === 'PENDING').length} PENDING of ${rows.length}`);
        await sleep(200);
      }
      const decidedMs = performance.now() - killedAt;
      const keys = new Map((await db.query('SELECT key, order_id FROM orders.idempotency_keys WHERE key LIKE $1', [`so-${run}-%`])).rows.map((row: { key: string; order_id: string }) => [row.key, row.order_id]));
      const inDatabase = new Set(rows.map((row) => row.id));
      const lost = [...acknowledged].filter(([, id]) => !inDatabase.has(id));
      const mismatched = [...acknowledged].filter(([key, id]) => keys.get(key) !== id);
      // Two orders for one key would be an order of this product that no key points at.
      const keyed = new Set(keys.values());
      const duplicated = rows.filter((row) => !keyed.has(row.id));
      const confirmed = rows.filter((row) => row.status === 'CONFIRMED').length;
      const stock = Number((await db.query('SELECT stock FROM products.products WHERE id = $1', [product])).rows[0]?.stock);
      const after = await stack.stats();
      const delta = (column: string) => counter(serverRow(after, 'orders', 'BACKEND'), column) - counter(serverRow(before, 'orders', 'BACKEND'), column);
      figures.push(
        `${ORDERS} orders (${doubled} of them sent twice at once) for ${STOCK} units, orders-2 SIGKILLed with ${inFlight} in flight: ${acknowledged.size} acknowledged, ${lost.length} lost, ${duplicated.length} duplicated, ${confirmed} CONFIRMED, stock left ${stock}; ${retries} client retries, HAProxy retried ${delta('wretr')} (redispatched ${delta('wredis')}); orders-2 DOWN ${ms(downMs)} and UP ${ms(upMs)} after the kill, all answered ${ms(placedMs)} and all decided ${ms(decidedMs)} after it`,
      );
      expect(lost).toEqual([]);
      expect(mismatched).toEqual([]);
      expect(duplicated).toEqual([]);
      expect(rows).toHaveLength(ORDERS);
      expect(confirmed).toBe(Math.min(STOCK, ORDERS));
      expect(stock).toBe(STOCK - confirmed);
    } finally {
      await db.end();
    }
  });
});

