// npm run -s bench:attack [-- --duration 5 --rounds 3 --connections 10 --attackers 5]
// Does an attack starve anyone? The graph as separate processes on one seeded PostgreSQL database;
// 10 connections of valid traffic (a catalog page and a product, through the gateway's full engine
// path: response cache off) measured alone and while 5 attackers send documents built to make a
// gateway work super-linearly (packages/harness/src/hostile-documents.ts: fragment fan-outs, repeated
// fields and subtrees, overlapping fragments, deep literals and variables, many operations or
// variables, directive floods, alias bombs; a different variant each time) in a loop, each as soon
// as the last was answered, ignoring Retry-After. Rounds alternate alone/attacked so machine noise
// hits both alike. Two gateways on the same subgraphs: one with the default budgets (every
// refusal is charged to its client; one that cannot pay is answered 429 after a hold), one where
// anonymous clients have an endless budget (what refusals cost the gateway when nothing stops
// them). Prints valid req/s and latency in each, their ratio, and the attackers' refusal latency
// and statuses per class. Targets: valid traffic keeps >= 80 % of its throughput; every refusal
// answered within 50 ms.
import { join } from 'node:path';
import { setTimeout } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { hostileCorpus, requestJson } from '@commerce/harness/hostile-documents';
import { startProcessGraph } from '@commerce/harness/process-graph';
import { ADMIN_URL, seededDatabase } from '@commerce/harness/postgres';
import { freePort, ROOT, run as runScript } from '@commerce/harness/processes';
import { generateSeed } from '@commerce/db/seed-data';
import { load, percentile, rate, type Sample, summarize } from './bench-support.js';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    connections: { type: 'string', default: '10' },
    attackers: { type: 'string', default: '5' },
    'admin-url': { type: 'string', default: ADMIN_URL },
    /** Attackers only, no valid traffic (for --profile). */
    'attack-only': { type: 'boolean', default: false },
    /** Write a CPU profile of the gateway into this directory (scripts/cpu-profile.mjs). */
    profile: { type: 'string' },
  },
});
const [duration, rounds, connections, attackers] = [Number(args.duration), Number(args.rounds), Number(args.connections), Number(args.attackers)];
const log = (line: string) => process.stdout.write(`${line}\n`);
const PRODUCT = generateSeed().products[0]!.id;
const VALID = [
  'query Catalog { products(first: 10) { totalCount edges { node { id name price { amount currency } stock } } pageInfo { hasNextPage endCursor } } }',
  `query Product { product(id: "${PRODUCT}") { id name description price { amount currency } } }`,
];

interface Refusal {
  name: string;
  status: number;
  code: string;
  ms: number;
}

/**
 * The attackers, in a worker thread of their own (so their sending does not slow the load
 * generator's event loop): each sends hostile documents one after another over a keep-alive
 * connection until told to stop, then reports every answer.
 */
function startAttackers(url: string, bodies: Array<{ name: string; json: string }>): { stop: () => Promise<Refusal[]> } {
  const worker = new Worker(
    `
    const { parentPort, workerData } = require('node:worker_threads');
    const http = require('node:http');
    const { url, bodies, attackers } = workerData;
    const agent = new http.Agent({ keepAlive: true, maxSockets: attackers });
    const results = [];
    let stopped = false;
    parentPort.on('message', () => (stopped = true));
    const send = (index, body) => new Promise((resolve) => {
      const started = performance.now();
      const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body.json), 'x-forwarded-for': '198.51.100.' + (index + 1) } }, (res) => {
        const chunks = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('end', () => {
          let code = '';
          try { code = String(JSON.parse(Buffer.concat(chunks).toString()).errors?.[0]?.extensions?.code ?? ''); } catch { code = 'not JSON'; }
          results.push({ name: body.name, status: res.statusCode, code, ms: performance.now() - started });
          resolve();
        });
      });
      req.on('error', (error) => { results.push({ name: body.name, status: 0, code: error.code ?? 'error', ms: performance.now() - started }); resolve(); });
      req.end(body.json);
    });
    Promise.all(Array.from({ length: attackers }, async (_, index) => {
      for (let i = index; !stopped; i += attackers) await send(index, bodies[i % bodies.length]);
    })).then(() => { agent.destroy(); parentPort.postMessage(results); });
    `,
    { eval: true, workerData: { url, bodies, attackers } },
  );
  return {
    stop: () =>
      new Promise((resolve) => {
        worker.once('message', (results: Refusal[]) => void worker.terminate().then(() => resolve(results)));
        worker.postMessage('stop');
      }),
  };
}

const HUGE = '1000000000000,1000000000';
const database = await seededDatabase('bench_attack', args['admin-url']);
// The production gateway: attackers are anonymous (one address each) with the default budget, so
// their refusals are charged; the valid clients are signed in, with a budget their load never
// exhausts. A second gateway on the same subgraphs gives anonymous clients an endless budget: what
// the refusals alone cost, with nothing charged to stop them.
const graph = await startProcessGraph(database.url, {
  env: { NODE_ENV: 'production', LOG_LEVEL: 'warn', CACHE_ENABLED: 'false' },
  gatewayEnv: {
    RATE_LIMIT_ENABLED: 'true',
    RATE_LIMIT_USER: HUGE,
    TRUST_PROXY_HOPS: '1',
    ...(args.profile ? { NODE_OPTIONS: `--import ${join(ROOT, 'scripts', 'cpu-profile.mjs')}`, PROFILE_FILE: join(args.profile, 'gateway'), PROFILE_MS: String(rounds * duration * (args['attack-only'] ? 1000 : 2000) + 3000) } : {}),
  },
});
const port = await freePort();
const unlimited = runScript('start:gateway', { ...graph.gatewayEnv(), PORT: String(port), RATE_LIMIT_ANONYMOUS: HUGE });
try {
  await unlimited.ready;
  // Every class in 8 variants (sizes, types, places), interleaved, serialised once: the attackers' own work is sending.
  const bodies = Array.from({ length: 8 }, (_, seed) => hostileCorpus(seed))
    .flat()
    .map((request) => ({ name: request.name.replace(/\d+(\^\d+)?/g, 'N'), json: requestJson(request) }));
  const headers = { authorization: `Bearer ${await graph.tokenFor('alice@example.com')}` };
  let valid = 0;
  const body = () => JSON.stringify({ query: VALID[valid++ % VALID.length] });
  const scenario = async (label: string, url: string) => {
    for (const query of VALID) {
      const answer = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query }) });
      const json = (await answer.json()) as { errors?: unknown };
      if (answer.status !== 200 || json.errors) throw new Error(`valid query failed: ${JSON.stringify(json)}`);
    }
    await load({ url, connections, seconds: 2, body, headers }); // warm-up: plans cached, pools open
    const alone: Sample[] = [];
    const attacked: Sample[] = [];
    const refusals: Refusal[] = [];
    const idle: Sample = { requests: 1, seconds: 1, latencies: [0], failures: 0 };
    for (let round = 0; round < rounds; round++) {
      alone.push(args['attack-only'] ? idle : await load({ url, connections, seconds: duration, body, headers }));
      const attack = startAttackers(url, bodies);
      attacked.push(args['attack-only'] ? await setTimeout(duration * 1000, idle) : await load({ url, connections, seconds: duration, body, headers }));
      refusals.push(...(await attack.stop()));
      log(`${label}, round ${round + 1}: alone ${rate(alone.at(-1)!).toFixed(0)} req/s, attacked ${rate(attacked.at(-1)!).toFixed(0)} req/s, ${refusals.length} attack requests so far`);
    }
    const a = summarize(alone);
    const b = summarize(attacked);
    const refused = refusals.filter((r) => r.status === 400);
    const ms = refused.map((r) => r.ms).sort((x, y) => x - y);
    const held = refusals.filter((r) => r.status === 429).map((r) => r.ms).sort((x, y) => x - y);
    const statuses = Object.fromEntries([...new Set(refusals.map((r) => `${r.status} ${r.code}`))].map((key) => [key, refusals.filter((r) => `${r.status} ${r.code}` === key).length]));
    log('');
    log(`${label}`);
    log(`  valid traffic (${connections} connections, signed in, ${rounds} × ${duration} s each way; ${a.failures + b.failures} failures)`);
    log(`    alone:    ${a.rps.toFixed(0)} req/s, p50 ${a.p50.toFixed(1)} ms, p95 ${a.p95.toFixed(1)} ms`);
    log(`    attacked: ${b.rps.toFixed(0)} req/s, p50 ${b.p50.toFixed(1)} ms, p95 ${b.p95.toFixed(1)} ms`);
    log(`    kept ${((100 * b.rps) / a.rps).toFixed(1)} % of its throughput (target >= 80 %)`);
    log(`  attackers (${attackers}, anonymous): ${refusals.length} documents, ${(refusals.length / (rounds * duration)).toFixed(0)}/s; ${JSON.stringify(statuses)}`);
    if (ms.length > 0) log(`    refusals (400): p50 ${percentile(ms, 50).toFixed(1)} ms, p95 ${percentile(ms, 95).toFixed(1)} ms, p99 ${percentile(ms, 99).toFixed(1)} ms, max ${ms.at(-1)!.toFixed(1)} ms (target: every one within 50 ms; ${ms.filter((x) => x > 50).length} over)`);
    if (held.length > 0) log(`    over budget (429, held up to 1 s): p50 ${percentile(held, 50).toFixed(0)} ms, max ${held.at(-1)!.toFixed(0)} ms`);
    for (const name of [...new Set(refused.map((r) => r.name))]) {
      const mine = refused.filter((r) => r.name === name).map((r) => r.ms).sort((x, y) => x - y);
      log(`    ${name.padEnd(46)} ${String(mine.length).padStart(5)} × p50 ${percentile(mine, 50).toFixed(1).padStart(5)} ms, max ${mine.at(-1)!.toFixed(1).padStart(6)} ms`);
    }
    const accepted = refusals.filter((r) => r.status < 400);
    if (accepted.length > 0) log(`    NOT REFUSED: ${accepted.length} (${[...new Set(accepted.map((r) => r.name))].join(', ')})`);
    log('');
  };
  await scenario('default budgets (refusals charged to the attackers)', graph.gatewayUrl);
  await scenario('no budget for anonymous clients (what refusals alone cost)', `http://127.0.0.1:${port}/graphql`);
} finally {
  if (args.profile) await setTimeout(3000); // the profile is written when its window ends
  unlimited.kill('SIGKILL');
  await unlimited.exited;
  await graph.stop();
  await database.drop();
}
