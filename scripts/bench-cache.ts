// npm run -s bench:cache [-- --duration 5 --rounds 3 --warmup 3 --connections 10 --modes warm,bare --profile DIR]
// What the response cache buys, in one run: the same catalog query against two gateways, one with
// CACHE_ENABLED=false (off) and one caching in Redis, in front of the same three subgraph
// processes on one seeded PostgreSQL database (so the gateways' cache is the only difference; the
// catalog list does not go through the entity cache). Modes: off; warm (cache on, the same request: hits); cold (cache on,
// every request a miss: a new operation name each time, so it pays the lookup and the write);
// off-new (cache off, a new operation name each time: the gateway plans every new operation, so
// cold's fair baseline is this, not off); floor, a node:http process that per request takes the
// budget and reads the entry from Redis (one pipelined round trip, bench-redis-floor.ts): the least
// any never-stale shared cache must do; and bare, a node:http process returning the same bytes with
// nothing behind it. Every gateway request is anonymous and pays the client budget (cost analysis
// and the Redis bucket), as a production request does. Warm hits are answered by the gateway's hit
// lane (hit-lane.ts). Rounds alternate modes so machine noise hits all alike.
// Prints req/s, p50, p95 and ratios. --modes runs some modes only; --profile DIR writes a CPU
// profile of the caching gateway there (scripts/cpu-profile.mjs).
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type ProcessGraph, startProcessGraph } from '@commerce/harness/process-graph';
import { ADMIN_URL, seededDatabase } from '@commerce/harness/postgres';
import { freePort, ROOT, run as runScript, type Run } from '@commerce/harness/processes';
import { load, rate, type Sample, summarize } from './bench-support.js';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '3' },
    connections: { type: 'string', default: '10' },
    'admin-url': { type: 'string', default: ADMIN_URL },
    'redis-url': { type: 'string', default: 'redis://127.0.0.1:6379' },
    /** Some of the modes only (e.g. warm,bare when profiling); ratios need off and bare. */
    modes: { type: 'string' },
    /** Write a CPU profile of the caching gateway into this directory (node --cpu-prof). */
    profile: { type: 'string' },
  },
});
const [duration, rounds, warmup, connections] = [Number(args.duration), Number(args.rounds), Number(args.warmup), Number(args.connections)];
const QUERY = 'query Catalog { products(first: 20) { totalCount edges { cursor node { id name price { amount currency } stock category } } pageInfo { hasNextPage endCursor } } }';
const log = (line: string) => process.stdout.write(`${line}\n`);

/** A node:http process that answers every request with these bytes: what serving them costs at least. */
async function bareServer(body: string): Promise<{ url: string; stop: () => void }> {
  const code = `
    const body = Buffer.from(process.env.BODY);
    const server = require('node:http').createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length }).end(body));
    });
    server.keepAliveTimeout = 5000;
    server.listen(0, '127.0.0.1', () => console.log(server.address().port));`;
  const child = spawn(process.execPath, ['-e', code], { env: { ...process.env, BODY: body }, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve) => child.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString().trim())));
  return { url: `http://127.0.0.1:${port}/graphql`, stop: () => child.kill('SIGKILL') };
}

/** bench-redis-floor.ts: a budget take and a Redis read per request, and nothing else. */
async function redisFloorServer(body: string): Promise<{ url: string; stop: () => void }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts', 'bench-redis-floor.ts')], { env: { ...process.env, BODY: body, REDIS_URL: args['redis-url'], PREFIX: `floor-${Date.now().toString(36)}` }, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve) => child.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString().trim())));
  return { url: `http://127.0.0.1:${port}/graphql`, stop: () => child.kill('SIGTERM') };
}

const profileStart = args.profile ? join(args.profile, `start-${process.pid}`) : '';
const database = await seededDatabase('bench_cache', args['admin-url']);
let on: ProcessGraph | undefined;
let offGateway: Run | undefined;
let bare: { url: string; stop: () => void } | undefined;
let floor: { url: string; stop: () => void } | undefined;
try {
  on = await startProcessGraph(database.url, {
    env: {
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      // Budgets on, as in production, so every request pays the cost analysis and the shared
      // bucket's Lua script; a bucket large enough that one client's load is never refused.
      RATE_LIMIT_ENABLED: 'true',
      RATE_LIMIT_ANONYMOUS: '1000000000000,1000000000',
      REDIS_URL: args['redis-url'],
      CACHE_PREFIX: `bench-${Date.now().toString(36)}`,
    },
    // The profile covers the measured rounds only (not start-up, not the warm-up).
    gatewayEnv: args.profile ? { NODE_OPTIONS: `--import ${join(ROOT, 'scripts', 'cpu-profile.mjs')}`, PROFILE_FILE: join(args.profile, 'gateway'), PROFILE_START_FILE: profileStart, PROFILE_MS: String(rounds * duration * (args.modes ? args.modes.split(',').length : 6) * 1000 - 1000) } : {},
  });
  const offPort = await freePort();
  offGateway = runScript('start:gateway', { ...on.gatewayEnv(), PORT: String(offPort), CACHE_ENABLED: 'false' });
  await offGateway.ready;
  const off = { gatewayUrl: `http://127.0.0.1:${offPort}/graphql` };

  const body = JSON.stringify({ query: QUERY });
  const ask = async (url: string, text = body) => {
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: text });
    return { status: response.status, cache: response.headers.get('x-cache'), text: await response.text() };
  };
  // Equal work: the same answer from every mode, and the modes really are what they claim.
  const reference = await ask(off.gatewayUrl);
  if (reference.status !== 200 || reference.text.includes('"errors"')) throw new Error(`unexpected answer: ${reference.text.slice(0, 300)}`);
  await ask(on.gatewayUrl);
  await new Promise((resolve) => setTimeout(resolve, 100));
  const hit = await ask(on.gatewayUrl);
  if (hit.cache !== 'HIT' || hit.text !== reference.text) throw new Error(`cache on: expected a HIT with the same body, got ${hit.cache}`);
  if ((await ask(off.gatewayUrl)).cache !== 'BYPASS') throw new Error('cache off: expected BYPASS');
  bare = await bareServer(reference.text);
  floor = await redisFloorServer(reference.text);

  let unique = 0;
  const fresh = () => JSON.stringify({ query: QUERY.replace('query Catalog', `query Catalog${unique++}`) });
  const modes: Record<string, { url: string; body: string | (() => string) }> = {
    off: { url: off.gatewayUrl, body },
    warm: { url: on.gatewayUrl, body },
    'off-new': { url: off.gatewayUrl, body: fresh },
    cold: { url: on.gatewayUrl, body: fresh },
    floor: { url: floor.url, body },
    bare: { url: bare.url, body },
  };
  const names = args.modes ? args.modes.split(',').filter((name) => name in modes) : Object.keys(modes);
  const run = (name: string, seconds: number) => load({ url: modes[name]!.url, connections, seconds, body: modes[name]!.body });
  const coldCheck = await ask(on.gatewayUrl, (modes.cold!.body as () => string)());
  if (coldCheck.cache !== 'MISS') throw new Error(`cold: expected a MISS, got ${coldCheck.cache}`);

  log(`bench:cache — ${connections} connections, ${warmup} s warm-up per mode, then ${rounds} rounds of ${duration} s per mode, alternating`);
  log(`query Catalog: products(first: 20) with price, stock, cursors (${reference.text.length} bytes); cache in Redis, PostgreSQL behind the subgraphs`);
  for (const name of names) await run(name, warmup);
  if (profileStart) writeFileSync(profileStart, '');
  const samples: Record<string, Sample[]> = Object.fromEntries(names.map((name) => [name, []]));
  for (let round = 0; round < rounds; round++) {
    for (const name of names) samples[name]!.push(await run(name, duration));
    log(`  round ${round + 1}: ${names.map((name) => `${name} ${rate(samples[name]!.at(-1)!).toFixed(0)}`).join(', ')} req/s`);
  }
  const summary = Object.fromEntries(names.map((name) => [name, summarize(samples[name]!)]));
  log('');
  if (names.some((name) => summary[name]!.failures > 0)) process.exitCode = 1;
  if (!summary.off || !summary.bare) {
    for (const name of names) log(`${name.padEnd(8)} ${summary[name]!.rps.toFixed(0).padStart(7)} req/s  p50 ${summary[name]!.p50.toFixed(1)} ms  p95 ${summary[name]!.p95.toFixed(1)} ms  failures ${summary[name]!.failures}`);
  } else {
  log('mode      req/s    p50 ms  p95 ms  requests  failures  req/s vs off  req/s vs bare');
  for (const name of names) {
    const s = summary[name]!;
    log(
      `${name.padEnd(8)} ${s.rps.toFixed(0).padStart(7)}  ${s.p50.toFixed(1).padStart(6)}  ${s.p95.toFixed(1).padStart(6)}  ${String(s.requests).padStart(8)}  ${String(s.failures).padStart(8)}  ${`×${(s.rps / summary.off!.rps).toFixed(2)}`.padStart(12)}  ${`×${(s.rps / summary.bare!.rps).toFixed(3)}`.padStart(13)}`,
    );
  }
  log(`cold vs off-new (what a miss costs on top of the same work): req/s ×${(summary.cold!.rps / summary['off-new']!.rps).toFixed(2)}, p95 ×${(summary.cold!.p95 / summary['off-new']!.p95).toFixed(2)}`);
  log(`warm vs off (a hit instead of the subgraphs): req/s ×${(summary.warm!.rps / summary.off!.rps).toFixed(2)}, p95 ×${(summary.warm!.p95 / summary.off!.p95).toFixed(3)}`);
  if (summary.floor) log(`warm vs floor (the gateway against the least a never-stale shared-cache hit costs): req/s ×${(summary.warm!.rps / summary.floor.rps).toFixed(2)}; floor vs bare ×${(summary.floor.rps / summary.bare!.rps).toFixed(2)}`);
  }
} finally {
  bare?.stop();
  floor?.stop();
  offGateway?.kill('SIGKILL');
  await offGateway?.exited;
  await on?.stop();
  await database.drop();
}
