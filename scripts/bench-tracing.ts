// npm run -s bench:tracing [-- --duration 5 --rounds 3 --warmup 5 --connections 10]
// The latency cost of tracing: two copies of the graph as separate processes on one fresh,
// seeded PostgreSQL database, one exporting every span (OTLP/HTTP to a local receiver), one with
// tracing off; autocannon sends the same signed-in query to each gateway, alternating rounds
// (off, on, off, on, …) so machine noise hits both modes alike. Prints RPS, p50, p95 and on/off.
import { parseArgs } from 'node:util';
import { createServer } from 'node:http';
import { type ProcessGraph, startProcessGraph } from '@commerce/harness/process-graph';
import { ADMIN_URL, seededDatabase } from '@commerce/harness/postgres';
import { load as loadFor, percentile, rate, type Sample, summarize } from './bench-support.js';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '5' },
    connections: { type: 'string', default: '10' },
    'admin-url': { type: 'string', default: ADMIN_URL },
  },
});
const duration = Number(args.duration);
const rounds = Number(args.rounds);
const connections = Number(args.connections);
const warmup = Number(args.warmup);
const QUERY = 'query BenchOrders { me { name orders(first: 5) { edges { node { id status total { amount currency } items { quantity product { id name price { amount currency } } } } } } } }';
const log = (line: string) => process.stdout.write(`${line}\n`);

/** Stands in for an OpenTelemetry collector: accepts OTLP/HTTP JSON and counts what arrives, nothing more. */
async function collector(): Promise<{ endpoint: string; spans: () => number; close: () => void }> {
  let spans = 0;
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      spans += body.split('"spanId"').length - 1;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { endpoint: `http://127.0.0.1:${(server.address() as { port: number }).port}`, spans: () => spans, close: () => server.close() };
}

const load = (url: string, token: string, seconds: number): Promise<Sample> =>
  loadFor({ url, connections, seconds, headers: { authorization: `Bearer ${token}` }, body: JSON.stringify({ query: QUERY }) });

const database = await seededDatabase('bench_tracing', args['admin-url']);
const sink = await collector();
const graphs: ProcessGraph[] = [];
try {
  const common = { NODE_ENV: 'production', LOG_LEVEL: 'warn', CACHE_ENABLED: 'false', RATE_LIMIT_ENABLED: 'false' };
  const off = await startProcessGraph(database.url, { env: common });
  graphs.push(off);
  const on = await startProcessGraph(database.url, { env: { ...common, OTEL_EXPORTER_OTLP_ENDPOINT: sink.endpoint } });
  graphs.push(on);
  const modes = { off, on } as const;
  const token = await off.tokenFor('alice@example.com');
  const tokens = { off: token, on: await on.tokenFor('alice@example.com') };
  // Same answer from both, and a complete one: the comparison is of equal work.
  for (const [mode, graph] of Object.entries(modes)) {
    const response = await fetch(graph.gatewayUrl, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens[mode as 'on' | 'off']}` }, body: JSON.stringify({ query: QUERY }) });
    const body = (await response.json()) as { data?: { me?: { orders?: { edges: unknown[] } } }; errors?: unknown };
    if (response.status !== 200 || body.errors || body.data?.me?.orders?.edges.length !== 5) throw new Error(`${mode}: unexpected answer ${response.status} ${JSON.stringify(body).slice(0, 300)}`);
  }
  log(`bench:tracing — ${connections} connections, ${warmup} s warm-up, then ${rounds} rounds of ${duration} s per mode, alternating; query BenchOrders (users → orders → products, 5 orders with their lines)`);
  let tracedRequests = 0;
  for (const mode of ['off', 'on'] as const) {
    const warmUp = await load(modes[mode].gatewayUrl, tokens[mode], warmup); // JIT, pools, keep-alive
    if (mode === 'on') tracedRequests += warmUp.requests;
  }
  const samples: Record<'off' | 'on', Sample[]> = { off: [], on: [] };
  const pairRatios: number[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const mode of ['off', 'on'] as const) samples[mode].push(await load(modes[mode].gatewayUrl, tokens[mode], duration));
    pairRatios.push(rate(samples.on[round]!) / rate(samples.off[round]!));
    log(`  round ${round + 1}: off ${rate(samples.off[round]!).toFixed(1)} req/s, on ${rate(samples.on[round]!).toFixed(1)} req/s (on/off ×${pairRatios[round]!.toFixed(3)})`);
  }
  await new Promise((resolve) => setTimeout(resolve, 6000)); // the last batch of spans (5 s schedule)
  const summary = { off: summarize(samples.off), on: summarize(samples.on) };
  const spans = sink.spans();
  tracedRequests += summary.on.requests;
  log('');
  log('mode  req/s    p50 ms  p95 ms  requests  failures');
  for (const mode of ['off', 'on'] as const) {
    const s = summary[mode];
    log(`${mode.padEnd(5)} ${s.rps.toFixed(1).padStart(6)}  ${s.p50.toFixed(1).padStart(6)}  ${s.p95.toFixed(1).padStart(6)}  ${String(s.requests).padStart(8)}  ${String(s.failures).padStart(8)}`);
  }
  log(`on/off: req/s ×${(summary.on.rps / summary.off.rps).toFixed(3)} (median of the rounds' ratios ×${percentile([...pairRatios].sort((a, b) => a - b), 50).toFixed(3)}), p50 ×${(summary.on.p50 / summary.off.p50).toFixed(3)}, p95 ×${(summary.on.p95 / summary.off.p95).toFixed(3)}`);
  log(`spans received by the collector: ${spans} for ${tracedRequests} traced requests (${(spans / Math.max(1, tracedRequests)).toFixed(1)} per request)`);
  if (summary.off.failures + summary.on.failures > 0) process.exitCode = 1;
} finally {
  for (const graph of graphs) await graph.stop();
  sink.close();
  await database.drop();
}
