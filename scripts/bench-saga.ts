// npm run -s bench:saga [-- --sequential 30 --buyers 20 --each 5 --burst 200 --baseline DIR --rounds 2 --profile DIR]
// How long an order takes from placed to decided — outbox → relay → Redis Streams → products
// reserves → its outbox → orders confirms or rejects — with every service its own process
// (`npm run start:*`) on PostgreSQL and Redis, as in production. Three loads, one after another:
//   sequential  one order at a time: the pipeline's own latency, nothing queued behind it
//   steady      `buyers` signed-in buyers, each placing `each` orders one after another
//   burst       `burst` orders at once for one product with stock 50 (one hot row)
// Latency comes from the rows themselves: an order's created_at (the PENDING commit, in the same
// transaction as its OrderPlaced outbox row) to its updated_at (the commit of the outcome).
// Needs PostgreSQL at --admin-url and Redis at 127.0.0.1:6379. Prints p50/p95/max, orders decided
// per second, and SQL statements per order (orders and products, requests and background work).
// With --baseline DIR (another checkout, installed: `git worktree add DIR <commit> && (cd DIR &&
// npm ci)`), the same loads run against that code too, rounds interleaved, each on a fresh
// database, and the ratios new/old are printed.
import { writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { type ProcessGraph, startProcessGraph } from '@commerce/harness/process-graph';
import { ADMIN_URL, seededDatabase } from '@commerce/harness/postgres';
import { ROOT } from '@commerce/harness/processes';
import { seededUserEmail } from '@commerce/db/seed-data';

const { values: args } = parseArgs({
  options: {
    sequential: { type: 'string', default: '30' },
    buyers: { type: 'string', default: '20' },
    each: { type: 'string', default: '5' },
    burst: { type: 'string', default: '200' },
    'admin-url': { type: 'string', default: ADMIN_URL },
    baseline: { type: 'string' },
    rounds: { type: 'string', default: '1' },
    /** CPU profiles of every service over the burst (PROFILE_MS, default 4 s, from its start; the graph is SIGKILLed after the burst, so a longer window writes nothing), into this directory. */
    profile: { type: 'string' },
  },
});
const log = (line: string) => process.stdout.write(`${line}\n`);
const PLACE = 'mutation Place($input: PlaceOrderInput!) { placeOrder(input: $input) { order { id status } userErrors { code message } } }';
const CREATE = 'mutation Create($input: CreateProductInput!) { createProduct(input: $input) { product { id } userErrors { code message } } }';

interface PhaseResult {
  orders: number;
  failed: number;
  p50: number;
  p95: number;
  max: number;
  decidedPerSecond: number;
  wallMs: number;
  confirmed: number;
  rejected: number;
  statementsPerOrder: number;
}
type Phase = 'sequential' | 'steady' | 'burst';
const PHASES: Phase[] = ['sequential', 'steady', 'burst'];

/** The three loads against the code in `root` (this checkout when undefined), on a fresh database. */
async function runOnce(root: string | undefined): Promise<Record<Phase, PhaseResult>> {
  const database = await seededDatabase('bench_saga', args['admin-url']);
  let graph: ProcessGraph | undefined;
  const sql = new pg.Client({ connectionString: database.url });
  try {
    // The profiles start with the burst (scripts/cpu-profile.mjs waits for this file), whatever start-up took.
    const profileStart = args.profile ? join(args.profile, `burst-${process.pid}-${Date.now()}`) : '';
    const profiling: Record<string, string> = args.profile ? { NODE_OPTIONS: `--import ${join(ROOT, 'scripts', 'cpu-profile.mjs')}`, PROFILE_FILE: join(args.profile, 'service'), PROFILE_START_FILE: profileStart, PROFILE_MS: process.env.PROFILE_MS ?? '4000' } : {};
    graph = await startProcessGraph(database.url, { root, env: { LOG_LEVEL: 'warn', RATE_LIMIT_ENABLED: 'false', ...profiling }, gatewayEnv: { SUBGRAPH_TIMEOUT_MS: '30000', SUBGRAPH_MUTATION_TIMEOUT_MS: '30000' } });
    await sql.connect();
    const url = graph.gatewayUrl;
    const post = async (query: string, variables: Record<string, unknown>, token: string) => {
      const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ query, variables }) });
      return (await response.json()) as { data?: Record<string, any>; errors?: Array<{ message: string }> };
    };
    const admin = await graph.tokenFor('admin@example.com', 'ADMIN');
    const product = async (stock: number) => {
      const created = await post(CREATE, { input: { sku: `BENCH-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`, name: 'Bench item', category: 'bench', price: '1.00', stock } }, admin);
      const id = created.data?.createProduct.product?.id as string | undefined;
      if (!id) throw new Error(`createProduct failed: ${JSON.stringify(created)}`);
      return id;
    };
    const tokens = await Promise.all(Array.from({ length: 400 }, (_, i) => graph!.tokenFor(seededUserEmail(i + 1))));
    let keys = 0;
    let failed = 0;
    let firstFailure = '';
    /** The order's id, or null when the call failed hard (counted; the first failure is printed). */
    const place = async (token: string, productId: string): Promise<string | null> => {
      const answer = await post(PLACE, { input: { items: [{ productId, quantity: 1 }], idempotencyKey: `bench-${keys++}` } }, token);
      const id = answer.data?.placeOrder.order?.id as string | undefined;
      if (id) return id;
      failed++;
      firstFailure ||= JSON.stringify(answer).slice(0, 300);
      return null;
    };
    /** SQL statements sent so far by orders and products (sql_statements_total, both sources). */
    const statements = async () => {
      let sum = 0;
      for (const name of ['orders', 'products'] as const) {
        const text = await (await fetch(graph!.subgraphUrls[name].replace(/\/graphql$/, '/metrics'))).text();
        for (const line of text.split('\n')) if (line.startsWith('sql_statements_total{')) sum += Number(line.split(' ').at(-1));
      }
      return sum;
    };
    let statementsBefore = 0;
    /** Waits until none of the orders is PENDING, then reads their latencies from the rows. */
    const measure = async (placed: Array<string | null>, wallMs: number): Promise<PhaseResult> => {
      const ids = placed.filter((id): id is string => id !== null);
      for (;;) {
        const { rows } = await sql.query<{ n: string }>(`SELECT count(*) AS n FROM orders.orders WHERE id = ANY($1::uuid[]) AND status = 'PENDING'`, [ids]);
        if (Number(rows[0]!.n) === 0) break;
        await sleep(100);
      }
      const { rows } = await sql.query<{ p50: number; p95: number; max: number; span: number; confirmed: string; rejected: string }>(
        `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50, percentile_cont(0.95) WITHIN GROUP (ORDER BY ms) AS p95, max(ms) AS max,
                extract(epoch FROM max(updated_at) - min(created_at)) AS span,
                count(*) FILTER (WHERE status = 'CONFIRMED') AS confirmed, count(*) FILTER (WHERE status = 'REJECTED') AS rejected
         FROM (SELECT status, created_at, updated_at, extract(epoch FROM updated_at - created_at) * 1000 AS ms FROM orders.orders WHERE id = ANY($1::uuid[])) t`,
        [ids],
      );
      const r = rows[0]!;
      await sleep(300); // the last outcomes' purges and acks
      const sent = await statements();
      const result = {
        orders: ids.length,
        failed,
        p50: r.p50,
        p95: r.p95,
        max: r.max,
        decidedPerSecond: ids.length / r.span,
        wallMs,
        confirmed: Number(r.confirmed),
        rejected: Number(r.rejected),
        statementsPerOrder: (sent - statementsBefore) / placed.length,
      };
      if (failed > 0) log(`  (${failed} calls failed hard; the first: ${firstFailure})`);
      statementsBefore = sent;
      failed = 0;
      firstFailure = '';
      return result;
    };

    // Warm-up: the first orders open pools and load plans.
    const warm = await product(100_000);
    for (let i = 0; i < 5; i++) await place(tokens[i]!, warm);
    await sleep(500);
    statementsBefore = await statements();
    failed = 0;

    const plenty = await product(100_000);
    const sequential: Array<string | null> = [];
    let started = Date.now();
    for (let i = 0; i < Number(args.sequential); i++) sequential.push(await place(tokens[i % tokens.length]!, plenty));
    const sequentialResult = await measure(sequential, Date.now() - started);

    const steady: Array<string | null> = [];
    started = Date.now();
    await Promise.all(
      Array.from({ length: Number(args.buyers) }, async (_, buyer) => {
        for (let n = 0; n < Number(args.each); n++) steady.push(await place(tokens[buyer]!, plenty));
      }),
    );
    const steadyResult = await measure(steady, Date.now() - started);

    const scarce = await product(50);
    if (profileStart) {
      writeFileSync(profileStart, '');
      await sleep(200); // the services look for the file every 100 ms
    }
    started = Date.now();
    const burst = await Promise.all(Array.from({ length: Number(args.burst) }, (_, i) => place(tokens[i % tokens.length]!, scarce)));
    return { sequential: sequentialResult, steady: steadyResult, burst: await measure(burst, Date.now() - started) };
  } finally {
    await sql.end().catch(() => {});
    await graph?.stop();
    await database.drop();
  }
}

const row = (variant: string, phase: Phase, r: PhaseResult) =>
  `${variant.padEnd(9)} ${phase.padEnd(11)} ${String(r.orders).padStart(6)} ${String(r.failed).padStart(6)}  ${Math.round(r.p50).toString().padStart(6)}  ${Math.round(r.p95).toString().padStart(6)}  ${Math.round(r.max).toString().padStart(6)}  ${r.decidedPerSecond.toFixed(1).padStart(9)}  ${String(r.wallMs).padStart(8)}  ${`${r.confirmed}/${r.rejected}`.padStart(18)}  ${r.statementsPerOrder.toFixed(1).padStart(9)}`;

log('bench:saga — services as separate processes, Redis Streams, PostgreSQL; placed → decided from the rows');
const variants: Array<{ name: string; root: string | undefined }> = [...(args.baseline ? [{ name: 'old', root: args.baseline }] : []), { name: args.baseline ? 'new' : 'this', root: undefined }];
const results = new Map<string, Array<Record<Phase, PhaseResult>>>(variants.map((variant) => [variant.name, []]));
log('code      load        orders failed  p50 ms  p95 ms  max ms  decided/s  wall ms  confirmed/rejected  SQL/order');
for (let round = 0; round < Number(args.rounds); round++) {
  for (const variant of round % 2 === 0 ? variants : [...variants].reverse()) {
    const result = await runOnce(variant.root);
    results.get(variant.name)!.push(result);
    for (const phase of PHASES) log(row(variant.name, phase, result[phase]));
  }
}
if (args.baseline) {
  const mean = (name: string, phase: Phase, key: keyof PhaseResult) => {
    const all = results.get(name)!;
    return all.reduce((sum, r) => sum + r[phase][key], 0) / all.length;
  };
  log('');
  log(`new / old over ${args.rounds} round(s): decided/s, SQL statements per order`);
  for (const phase of PHASES) {
    log(
      `${phase.padEnd(11)} decided/s ${mean('old', phase, 'decidedPerSecond').toFixed(1)} → ${mean('new', phase, 'decidedPerSecond').toFixed(1)} (×${(mean('new', phase, 'decidedPerSecond') / mean('old', phase, 'decidedPerSecond')).toFixed(2)})   SQL/order ${mean('old', phase, 'statementsPerOrder').toFixed(1)} → ${mean('new', phase, 'statementsPerOrder').toFixed(1)}   failed ${mean('old', phase, 'failed')} → ${mean('new', phase, 'failed')}`,
    );
  }
}
