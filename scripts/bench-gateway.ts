// npm run -s bench:gateway [-- --duration 10 --rounds 3 --warmup 5 --connections 50 --gateways stock,ours,ours-nodedup
//   --workloads few,distinct --workers 2 --baseline DIR[,DIR…] --profile DIR]
// Our gateway against stock @apollo/gateway, on the same subgraphs, in one run. Four storefront
// subgraphs in the public gateway benchmarks' shape (bench-gateway/storefront.ts: accounts,
// inventory, products, reviews; @key, @requires, @external, @provides; in-memory, each its own
// process) composed into one supergraph; stock @apollo/gateway in @apollo/server's standalone
// server (bench-gateway/stock-gateway.ts, the same versions as ours) and our gateway
// (`gateway/src/index.ts`, NODE_ENV=production, CACHE_ENABLED=false RATE_LIMIT_ENABLED=false) run
// from that file, each one process. Gateways: stock; ours; ours-nodedup (DEDUP_ENABLED=false);
// ours-workers (GATEWAY_WORKERS=--workers), ours-workers-nodedup (both); and for each --baseline DIR, base-<name of DIR> (the
// gateway of another checkout, e.g. an earlier commit, run the same way beside this one).
// Before any load, every query of both workloads (and 40 distinct variable sets) is sent to every
// gateway: each must answer 200 without errors and with the same `data` as stock, byte for byte.
// Then autocannon (in this process) loads each gateway with each workload (bench-gateway/
// workloads.ts: "few" named queries from many connections, "distinct" requests that never repeat),
// a warm-up each, then rounds that alternate gateways and workloads so machine noise hits all
// alike. Prints req/s, p50/p90/p99, errors (non-200 or a body with `errors`), the gateway's peak
// RSS (all its processes) and its CPU time per request, with ratios to stock; the load average
// before and after. --profile DIR writes a CPU profile of `ours` (scripts/cpu-profile.mjs).
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { composeServices } from '@apollo/composition';
import { ROOT, run, type Run } from '@commerce/harness/processes';
import { load, rate, type Sample, summarize } from './bench-support.js';
import { SUBGRAPHS } from './bench-gateway/storefront.js';
import { distinctBody, FEW_QUERIES, fewBodies } from './bench-gateway/workloads.js';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '5' },
    connections: { type: 'string', default: '50' },
    gateways: { type: 'string', default: 'stock,ours,ours-nodedup,ours-workers,ours-workers-nodedup' },
    workloads: { type: 'string', default: 'few,distinct' },
    workers: { type: 'string', default: '2' },
    /** Other checkouts whose gateways run beside (e.g. main, or earlier commits, for a before/after). */
    baseline: { type: 'string' },
    /** Write a CPU profile of "ours" into this directory. */
    profile: { type: 'string' },
  },
});
const [duration, rounds, warmup, connections] = [Number(args.duration), Number(args.rounds), Number(args.warmup), Number(args.connections)];
const baselines = (args.baseline ?? '').split(',').filter(Boolean);
const log = (line: string) => process.stdout.write(`${line}\n`);
const load1 = () => loadavg().map((n) => n.toFixed(2)).join(' ');

/** Every process of a group (the gateway and, with workers, its workers), by /proc. */
function groupPids(pgid: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** RSS (bytes) and CPU time (ms, user + system) of a process group right now. */
function usage(pgid: number): { rss: number; cpuMs: number } {
  let rss = 0;
  let ticks = 0;
  for (const pid of groupPids(pgid)) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      rss += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // gone meanwhile
    }
  }
  return { rss, cpuMs: ticks * 10 }; // USER_HZ is 100 on Linux
}

const dir = mkdtempSync(join(tmpdir(), 'bench-gateway-'));
const children: Run[] = [];
const started = (child: Run) => {
  children.push(child);
  return child.ready.then(() => child);
};
const urlOf = (child: Run) => /ready at (\S+)/.exec(child.output())![1]!;

try {
  log(`bench:gateway — load average ${load1()} (1, 5, 15 min) at the start`);
  // The subgraphs, one process each, then the supergraph at their addresses.
  const subgraphs = await Promise.all(SUBGRAPHS.map(async (subgraph) => ({ ...subgraph, url: urlOf(await started(run('', { SUBGRAPH: subgraph.name }, { direct: join(ROOT, 'scripts', 'bench-gateway', 'subgraph-server.ts') }))) })));
  const composed = composeServices(subgraphs.map(({ name, url, typeDefs }) => ({ name, url, typeDefs })));
  if (composed.errors) throw new Error(`composition failed: ${composed.errors.map((error) => error.message).join('; ')}`);
  const supergraphPath = join(dir, 'supergraph.graphql');
  writeFileSync(supergraphPath, composed.supergraphSdl);

  const { privateKey } = generateKeyPairSync('ed25519');
  const ours = (extra: Record<string, string>, root?: string): Record<string, string> => ({
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    SUPERGRAPH_PATH: supergraphPath,
    PORT: '0',
    CACHE_ENABLED: 'false',
    RATE_LIMIT_ENABLED: 'false',
    JWT_SECRET: randomBytes(32).toString('base64url'),
    IDENTITY_PRIVATE_KEY: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    DATA_DIR: join(dir, root ? `data-${basename(root)}` : 'data'),
    ...extra,
  });
  const profileEnv = (name: string): Record<string, string> =>
    args.profile ? { NODE_OPTIONS: `--import ${join(ROOT, 'scripts', 'cpu-profile.mjs')}`, PROFILE_FILE: join(args.profile, name), PROFILE_DELAY_MS: String(warmup * 1000), PROFILE_MS: String(rounds * duration * 1000 * 4) } : {};
  const definitions: Record<string, () => Run> = {
    stock: () => run('', { NODE_ENV: 'production', SUPERGRAPH_PATH: supergraphPath, PORT: '0' }, { direct: join(ROOT, 'scripts', 'bench-gateway', 'stock-gateway.ts') }),
    ours: () => run('', { ...ours({}), ...profileEnv('ours') }, { direct: join(ROOT, 'gateway', 'src', 'index.ts') }),
    'ours-nodedup': () => run('', ours({ DEDUP_ENABLED: 'false' }), { direct: join(ROOT, 'gateway', 'src', 'index.ts') }),
    'ours-workers': () => run('', ours({ GATEWAY_WORKERS: args.workers! }), { direct: join(ROOT, 'gateway', 'src', 'index.ts') }),
    'ours-workers-nodedup': () => run('', ours({ GATEWAY_WORKERS: args.workers!, DEDUP_ENABLED: 'false' }), { direct: join(ROOT, 'gateway', 'src', 'index.ts') }),
  };
  const baseName = (root: string) => (basename(root).startsWith('base-') ? basename(root) : `base-${basename(root)}`);
  for (const root of baselines) definitions[baseName(root)] = () => run('', ours({}, root), { direct: join(root, 'gateway', 'src', 'index.ts'), cwd: root });
  const names = [...new Set([...args.gateways!.split(','), ...baselines.map(baseName)])].filter((name) => name in definitions);
  if (!names.includes('stock')) throw new Error('--gateways must include stock (everything is compared with it)');
  const gateways = new Map<string, { url: string; pgid: number }>();
  for (const name of names) {
    const child = await started(definitions[name]!());
    gateways.set(name, { url: urlOf(child).replace(/\/$/, '').replace(/(\/graphql)?$/, '/graphql'), pgid: child.child.pid! });
  }

  // Equal work: every gateway answers every query alike, and completely.
  const ask = async (url: string, body: string) => {
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const text = await response.text();
    const parsed = JSON.parse(text) as { data?: unknown; errors?: unknown[] };
    if (response.status !== 200 || parsed.errors) throw new Error(`${url}: HTTP ${response.status} ${text.slice(0, 400)}`);
    return JSON.stringify(parsed.data);
  };
  let seed = 7;
  const seeded = () => ((seed = Math.imul(seed, 48271) % 2_147_483_647) & 0x7fffffff) / 2_147_483_647;
  const checks = [...fewBodies(), ...Array.from({ length: 40 }, () => distinctBody(seeded))];
  let bytes = 0;
  for (const body of checks) {
    const reference = await ask(gateways.get('stock')!.url, body);
    bytes += reference.length;
    for (const [name, { url }] of gateways) if ((await ask(url, body)) !== reference) throw new Error(`${name} answers differently from stock for ${body.slice(0, 200)}`);
  }
  log(`same data from ${[...gateways.keys()].join(', ')} for ${checks.length} requests (${Object.keys(FEW_QUERIES).length} named queries, 40 distinct variable sets; ${Math.round(bytes / checks.length)} bytes of data on average)`);

  const workloads: Record<string, string[] | (() => string)> = { few: fewBodies(), distinct: () => distinctBody() };
  const workloadNames = args.workloads!.split(',').filter((name) => name in workloads);
  const samples = new Map<string, Sample[]>();
  const peaks = new Map<string, number>();
  const cpu = new Map<string, { ms: number; requests: number }>();
  const measure = async (gateway: string, workload: string, seconds: number, record: boolean) => {
    const { url, pgid } = gateways.get(gateway)!;
    const before = usage(pgid);
    let peak = before.rss;
    const sampler = setInterval(() => (peak = Math.max(peak, usage(pgid).rss)), 250);
    try {
      const sample = await load({ url, connections, seconds, body: workloads[workload]!, graphqlErrors: true });
      if (!record) return sample;
      const key = `${workload}:${gateway}`;
      samples.set(key, [...(samples.get(key) ?? []), sample]);
      peaks.set(key, Math.max(peaks.get(key) ?? 0, peak, usage(pgid).rss));
      const spent = cpu.get(key) ?? { ms: 0, requests: 0 };
      cpu.set(key, { ms: spent.ms + usage(pgid).cpuMs - before.cpuMs, requests: spent.requests + sample.requests });
      return sample;
    } finally {
      clearInterval(sampler);
    }
  };

  log(`${connections} connections; ${warmup} s warm-up per gateway and workload, then ${rounds} rounds of ${duration} s each, alternating`);
  for (const workload of workloadNames) for (const gateway of names) await measure(gateway, workload, warmup, false);
  for (let round = 0; round < rounds; round++) {
    const line: string[] = [];
    for (const workload of workloadNames) {
      for (const gateway of round % 2 === 0 ? names : [...names].reverse()) {
        const sample = await measure(gateway, workload, duration, true);
        line.push(`${workload}/${gateway} ${rate(sample).toFixed(0)}`);
      }
    }
    log(`  round ${round + 1}: ${line.join(', ')} req/s (load ${load1()})`);
  }

  let failed = false;
  for (const workload of workloadNames) {
    const stock = summarize(samples.get(`${workload}:stock`)!);
    log('');
    log(`workload ${workload}${workload === 'few' ? ` (${Object.keys(FEW_QUERIES).join(', ')} in turn on every connection)` : ' (UserPage, every request its own variables)'}`);
    log('gateway         req/s   p50 ms   p90 ms   p99 ms  requests  errors  peak RSS MB  CPU ms/req  req/s vs stock  p90 vs stock');
    for (const gateway of names) {
      const key = `${workload}:${gateway}`;
      const s = summarize(samples.get(key)!);
      const spent = cpu.get(key)!;
      if (s.failures > 0) failed = true;
      log(
        `${gateway.padEnd(14)} ${s.rps.toFixed(0).padStart(6)} ${s.p50.toFixed(1).padStart(8)} ${s.p90.toFixed(1).padStart(8)} ${s.p99.toFixed(1).padStart(8)} ${String(s.requests).padStart(9)} ${String(s.failures).padStart(7)} ${((peaks.get(key) ?? 0) / 1024 / 1024).toFixed(0).padStart(12)} ${(spent.ms / spent.requests).toFixed(2).padStart(11)} ${`×${(s.rps / stock.rps).toFixed(2)}`.padStart(15)} ${`×${(s.p90 / stock.p90).toFixed(2)}`.padStart(13)}`,
      );
    }
  }
  // What issue #17 asks of one worker under load (ours: one process, as it ships).
  const rssOf = (gateway: string) => Math.max(...workloadNames.map((workload) => peaks.get(`${workload}:${gateway}`) ?? 0)) / 1024 / 1024;
  if (names.includes('ours')) log(`\npeak RSS under load, one worker (ours, every workload): ${rssOf('ours').toFixed(0)} MB (target ≤ 300 MB)`);
  log('');
  log(`load average ${load1()} at the end`);
  if (failed) {
    log('errors under load (first few of each):');
    for (const [key, list] of samples) {
      for (const body of list.flatMap((sample) => sample.errorBodies ?? []).slice(0, 3)) log(`  ${key}: ${body}`);
      const timeouts = list.reduce((n, sample) => n + (sample.timeouts ?? 0), 0);
      const connectionErrors = list.reduce((n, sample) => n + (sample.connectionErrors ?? 0), 0);
      if (timeouts || connectionErrors) log(`  ${key}: ${timeouts} unanswered within autocannon's 10 s timeout, ${connectionErrors} connection errors`);
    }
    process.exitCode = 1;
  }
} finally {
  for (const child of children) child.kill('SIGKILL');
  await Promise.all(children.map((child) => child.exited));
  rmSync(dir, { recursive: true, force: true });
}
