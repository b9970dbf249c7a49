// npm run -s bench:documents [-- --iterations 20000 --duration 5 --rounds 3 --connections 10]
// What a trusted document sent by id saves per request against sending the full document, in one run:
// 1. bytes on the wire for each listed operation (the request body, id vs text);
// 2. in process, for each listed operation, the gateway's work before execution that depends on
//    the form. Repeated (the usual case): by id, the body's JSON and a map lookup; by text, the
//    larger JSON, the hash Apollo keys its parsed-document cache with, and the static limits'
//    memo. The first time on a replica (or once pushed out of the caches): by text, also the
//    static limit check and Apollo's parse and validation against the API schema; by id, the
//    parse and validation only (its limits were checked when the manifest was loaded);
// 3. through a real gateway (its own process, the subgraphs in theirs, a fresh seeded database,
//    Redis), the product page for a signed-in user (the full path, not the anonymous hit lane,
//    answered from the response cache, so the gateway's own work is what is measured), by id and
//    by text in alternating rounds: req/s, latency, and the gateway's CPU time per request.
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildSchema, parse, validate } from 'graphql';
import { generateSeed } from '@commerce/db/seed-data';
import { startProcessGraph } from '@commerce/harness/process-graph';
import { ADMIN_URL, seededDatabase } from '@commerce/harness/postgres';
import { ROOT } from '@commerce/harness/processes';
import { sha256Hex } from '../gateway/src/cache/persisted-documents.js';
import { checkQueryLimits, DocumentLimits, QUERY_LIMIT_DEFAULTS } from '../gateway/src/limits/query-limits.js';
import { load, type Sample, summarize } from './bench-support.js';

const { values: args } = parseArgs({
  options: {
    iterations: { type: 'string', default: '20000' },
    duration: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '10' },
    'admin-url': { type: 'string', default: ADMIN_URL },
    /** Only the in-process part (no database, no processes). */
    'in-process': { type: 'boolean', default: false },
  },
});
const iterations = Number(args.iterations);
const log = (line: string) => process.stdout.write(`${line}\n`);
const manifest = JSON.parse(readFileSync(join(ROOT, 'clients', 'persisted-query-manifest.json'), 'utf8')) as { operations: Array<{ id: string; name: string; body: string }> };
const schema = buildSchema(readFileSync(join(ROOT, 'schema', 'api.graphql'), 'utf8'));
const product = generateSeed().products[0]!;
const variablesOf: Record<string, Record<string, unknown>> = {
  Catalog: { first: 20 },
  ProductPage: { id: product.id },
  MyOrders: { first: 10 },
  PlaceOrder: { input: { items: [{ productId: product.id, quantity: 1 }], idempotencyKey: '6f1c7a52-1d7e-4c53-9a52-0c4f3c8f2b11' } },
};
const byIdBody = (id: string, variables: unknown) => JSON.stringify({ variables, extensions: { persistedQuery: { version: 1, sha256Hash: id } } });
const byTextBody = (query: string, variables: unknown) => JSON.stringify({ query, variables });

function time(run: () => void, n = iterations): number {
  for (let i = 0; i < Math.min(2000, n); i++) run(); // warm the JIT
  const started = process.hrtime.bigint();
  for (let i = 0; i < n; i++) run();
  return Number(process.hrtime.bigint() - started) / 1000 / n; // µs per run
}

log(`load average ${loadavg().map((n) => n.toFixed(2)).join(' ')}; ${iterations} iterations per in-process measurement\n`);
log('            | request body       | repeated                        | first time on a replica');
log('operation   | by id   | by text  | by id    | by text  | saved    | by id      | by text    | saved');
const listed = new Map(manifest.operations.map((operation) => [operation.id, operation.body]));
for (const operation of manifest.operations) {
  const variables = variablesOf[operation.name] ?? {};
  const idBody = byIdBody(operation.id, variables);
  const textBody = byTextBody(operation.body, variables);
  const limits = new DocumentLimits(QUERY_LIMIT_DEFAULTS);
  const byId = time(() => {
    const request = JSON.parse(idBody) as { extensions: { persistedQuery: { sha256Hash: string } } };
    if (listed.get(request.extensions.persistedQuery.sha256Hash) === undefined) throw new Error('not listed');
  });
  const seen = time(() => {
    const request = JSON.parse(textBody) as { query: string };
    limits.check(request.query);
    sha256Hex(request.query);
  });
  const fresh = time(() => {
    const request = JSON.parse(textBody) as { query: string };
    checkQueryLimits(request.query, QUERY_LIMIT_DEFAULTS);
    sha256Hex(request.query);
    if (validate(schema, parse(request.query)).length > 0) throw new Error(`${operation.name} does not validate`);
  }, Math.max(1000, iterations / 10));
  const freshById = time(() => {
    const request = JSON.parse(idBody) as { extensions: { persistedQuery: { sha256Hash: string } } };
    const body = listed.get(request.extensions.persistedQuery.sha256Hash)!;
    if (validate(schema, parse(body)).length > 0) throw new Error(`${operation.name} does not validate`);
  }, Math.max(1000, iterations / 10));
  const us = (value: number, width = 8) => `${value.toFixed(1)} µs`.padStart(width);
  log(`${operation.name.padEnd(11)} | ${`${Buffer.byteLength(idBody)} B`.padStart(7)} | ${`${Buffer.byteLength(textBody)} B`.padStart(8)} | ${us(byId)} | ${us(seen)} | ${us(seen - byId)} | ${us(freshById, 10)} | ${us(fresh, 10)} | ${us(fresh - freshById)}`);
}

if (!args['in-process']) {
  const database = await seededDatabase('bench_documents', args['admin-url']);
  const graph = await startProcessGraph(database.url, { env: { RATE_LIMIT_ENABLED: 'false', LOG_LEVEL: 'warn' } });
  try {
    const page = manifest.operations.find((operation) => operation.name === 'ProductPage')!;
    const variables = variablesOf.ProductPage;
    const headers = { authorization: `Bearer ${await graph.tokenFor('alice@example.com')}` };
    const bodies = { id: byIdBody(page.id, variables), text: byTextBody(page.body, variables) };
    const cpuMs = () => {
      const pid = graph.process('gateway').child.pid!;
      let ticks = 0;
      for (const entry of readdirSync('/proc')) {
        if (!/^\d+$/.test(entry)) continue;
        try {
          const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
          const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
          if (Number(fields[2]) === pid) ticks += Number(fields[11]) + Number(fields[12]);
        } catch {
          // gone meanwhile
        }
      }
      return ticks * 10; // USER_HZ is 100
    };
    const duration = Number(args.duration);
    const connections = Number(args.connections);
    const samples: Record<'id' | 'text', Sample[]> = { id: [], text: [] };
    const cpu: Record<'id' | 'text', number> = { id: 0, text: 0 };
    for (const mode of ['id', 'text'] as const) await load({ url: graph.gatewayUrl, connections, seconds: 2, headers, body: bodies[mode], graphqlErrors: true }); // warm: plans, caches
    for (let round = 0; round < Number(args.rounds); round++) {
      for (const mode of round % 2 === 0 ? (['id', 'text'] as const) : (['text', 'id'] as const)) {
        const before = cpuMs();
        const sample = await load({ url: graph.gatewayUrl, connections, seconds: duration, headers, body: bodies[mode], graphqlErrors: true });
        cpu[mode] += cpuMs() - before;
        samples[mode].push(sample);
      }
    }
    log(`\nthrough the gateway: ProductPage as alice (full path, response cache hits), ${connections} connections, ${args.rounds} rounds of ${duration} s each, alternating`);
    log('sent as   | req/s  | p50      | p99      | gateway CPU per request | failures');
    const rows: Record<string, { rps: number; cpuPerRequest: number; p50: number }> = {};
    for (const mode of ['id', 'text'] as const) {
      const summary = summarize(samples[mode]);
      const cpuPerRequest = cpu[mode] / summary.requests;
      rows[mode] = { rps: summary.rps, cpuPerRequest, p50: summary.p50 };
      log(`${mode.padEnd(9)} | ${summary.rps.toFixed(0).padStart(6)} | ${`${summary.p50.toFixed(1)} ms`.padStart(8)} | ${`${summary.p99.toFixed(1)} ms`.padStart(8)} | ${`${cpuPerRequest.toFixed(3)} ms`.padStart(23)} | ${summary.failures}`);
    }
    log(`id against text: ${((rows.id!.rps / rows.text!.rps - 1) * 100).toFixed(1)}% req/s, CPU per request ${(rows.text!.cpuPerRequest - rows.id!.cpuPerRequest).toFixed(3)} ms less; load average now ${loadavg().map((n) => n.toFixed(2)).join(' ')}`);
  } finally {
    await graph.stop();
    await database.drop();
  }
}
