// npm run -s bench:start [-- --runs 7 --no-build]
// Cold start of the gateway: from spawning the process to the first 200 on GET /ready, for the
// compiled build (`node dist/gateway/index.js`, with and without --enable-source-maps, which the
// image turns on) against development's `tsx gateway/src/index.ts`, in the same run, interleaved
// (each round starts every variant once, in a rotating order) so machine noise hits all alike.
// The subgraphs are already running (compiled, on a fresh seeded PostgreSQL database and Redis),
// as in production when a gateway replica starts; the gateway answers one cross-subgraph query
// through them after each start. Prints the median, min and max per variant, and the CPU time the
// process (with its children: tsx runs node under it) had used when /ready answered, which the
// machine's other load disturbs less than wall time. Target: compiled under 1.5 s.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { userIdFor } from '@commerce/db/ids';
import { signUserToken } from '@commerce/gateway/user-tokens';
import { ADMIN_URL, seededDatabase } from '@commerce/harness/postgres';
import { freePort } from '@commerce/harness/processes';
import { dropPrefix, REDIS_URL } from '@commerce/harness/redis';
import { build, DIST, entryFile, ROOT } from './build.js';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '7' },
    'no-build': { type: 'boolean', default: false },
    'admin-url': { type: 'string', default: ADMIN_URL },
    'redis-url': { type: 'string', default: REDIS_URL },
  },
});
const runs = Number(args.runs);
const TARGET_MS = 1500;
const log = (line: string) => process.stdout.write(`${line}\n`);

const VARIANTS: Array<{ name: string; command: string; args: string[] }> = [
  { name: 'node dist/gateway/index.js', command: process.execPath, args: [entryFile('gateway')] },
  { name: 'node --enable-source-maps dist/gateway/index.js', command: process.execPath, args: ['--enable-source-maps', entryFile('gateway')] },
  { name: 'tsx gateway/src/index.ts', command: join(ROOT, 'node_modules', '.bin', 'tsx'), args: ['gateway/src/index.ts'] },
];

/** The status of GET /ready, or 0 while nothing answers. */
const readyStatus = (port: number): Promise<number> =>
  new Promise((resolve) => {
    get({ host: '127.0.0.1', port, path: '/ready', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    }).on('error', () => resolve(0));
  });

async function untilReady(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while ((await readyStatus(port)) !== 200) {
    if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode} before it was ready`);
    if (performance.now() > deadline) throw new Error(`not ready after ${timeoutMs} ms`);
    await sleep(5);
  }
}

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU milliseconds (user + system) a process and its descendants have used so far; NaN off Linux. */
function cpuMs(pid: number): number {
  try {
    const [utime, stime] = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ').slice(11, 13).map(Number) as [number, number];
    const children = readdirSync(`/proc/${pid}/task`).flatMap((task) => readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
    return ((utime + stime) * 1000) / CLOCK_TICKS + children.reduce((sum, child) => sum + cpuMs(child), 0);
  } catch {
    return Number.NaN;
  }
}

const exited = (child: ChildProcess): Promise<void> => (child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve())));

function start(command: string, commandArgs: string[], env: Record<string, string>): { child: ChildProcess; output: () => string } {
  let output = '';
  const child = spawn(command, commandArgs, { cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output };
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

if (!args['no-build'] || !existsSync(join(DIST, 'gateway', 'index.js'))) {
  const { ms } = await build();
  log(`built dist/ in ${Math.round(ms)} ms`);
}

const database = await seededDatabase('commerce_bench_start', args['admin-url']);
const prefix = `bench-start-${Date.now().toString(36)}`;
const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const jwtSecret = randomBytes(32).toString('base64url');
const ports = { users: await freePort(), products: await freePort(), orders: await freePort() };
const common = { NODE_ENV: 'production', REDIS_URL: args['redis-url'], CACHE_PREFIX: prefix, SHUTDOWN_READY_DELAY_MS: '0' };
const subgraphs: Array<ReturnType<typeof start>> = [];
const timings = new Map<string, number[]>(VARIANTS.map((variant) => [variant.name, []]));
const cpu = new Map<string, number[]>(VARIANTS.map((variant) => [variant.name, []]));

try {
  for (const [name, port] of Object.entries(ports)) {
    const service = start(process.execPath, [entryFile(name as 'users')], {
      ...common,
      PORT: String(port),
      DATABASE_URL: database.url,
      MIGRATE_ON_START: 'false',
      IDENTITY_PUBLIC_KEY: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
      PRODUCTS_URL: `http://127.0.0.1:${ports.products}/graphql`,
    });
    subgraphs.push(service);
    await untilReady(port, service.child, 60_000).catch((error: Error) => {
      throw new Error(`${name}: ${error.message}\n${service.output()}`);
    });
  }
  log(`subgraphs up (compiled, PostgreSQL ${database.name}, Redis prefix ${prefix}); ${runs} rounds of ${VARIANTS.length} gateway starts each`);
  const gatewayPort = await freePort();
  const gatewayEnv = {
    ...common,
    PORT: String(gatewayPort),
    JWT_SECRET: jwtSecret,
    IDENTITY_PRIVATE_KEY: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    ...Object.fromEntries(Object.entries(ports).map(([name, port]) => [`SUBGRAPH_URL_${name.toUpperCase()}`, `http://127.0.0.1:${port}/graphql`])),
  };
  const token = await signUserToken(jwtSecret, { userId: userIdFor('alice@example.com'), role: 'USER' });
  const query = '{ me { name orders(first: 2) { edges { node { id items { quantity product { name } } } } } } }';
  for (let round = 0; round < runs; round++) {
    for (let i = 0; i < VARIANTS.length; i++) {
      const variant = VARIANTS[(round + i) % VARIANTS.length]!;
      const began = performance.now();
      const gateway = start(variant.command, variant.args, gatewayEnv);
      try {
        await untilReady(gatewayPort, gateway.child, 60_000);
        timings.get(variant.name)!.push(performance.now() - began);
        cpu.get(variant.name)!.push(cpuMs(gateway.child.pid!));
        const response = await fetch(`http://127.0.0.1:${gatewayPort}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ query }) });
        const body = (await response.json()) as { data?: { me?: { name?: string; orders?: { edges?: unknown[] } } }; errors?: unknown };
        if (body.data?.me?.name !== 'Alice Example' || !body.data.me.orders?.edges || body.errors) throw new Error(`the query did not answer: ${JSON.stringify(body).slice(0, 300)}`);
      } catch (error) {
        throw new Error(`${variant.name}: ${(error as Error).message}\n${gateway.output()}`);
      } finally {
        gateway.child.kill('SIGTERM');
        await exited(gateway.child);
      }
    }
  }
  log('');
  log('| gateway start command | median to /ready 200 | min | max | median CPU used by then | runs |');
  log('|---|---|---|---|---|---|');
  for (const [name, values] of timings) log(`| \`${name}\` | **${Math.round(median(values))} ms** | ${Math.round(Math.min(...values))} ms | ${Math.round(Math.max(...values))} ms | ${Math.round(median(cpu.get(name)!))} ms | ${values.length} |`);
  const compiled = median(timings.get(VARIANTS[0]!.name)!);
  const tsx = median(timings.get(VARIANTS[2]!.name)!);
  log('');
  log(`compiled ${Math.round(compiled)} ms vs tsx ${Math.round(tsx)} ms (×${(compiled / tsx).toFixed(2)}); target under ${TARGET_MS} ms: ${compiled < TARGET_MS ? 'met' : 'MISSED'}`);
} finally {
  for (const service of subgraphs) service.child.kill('SIGTERM');
  await Promise.all(subgraphs.map((service) => exited(service.child)));
  await dropPrefix(args['redis-url'], prefix).catch(() => {});
  await database.drop();
}
