// The production shape as processes on one machine, from the compiled build: HAProxy in front of
// N gateway replicas (:4000) and, on a frontend of its own each, in front of N replicas of every
// subgraph (the gateways' SUBGRAPH_URL_* and orders' PRODUCTS_URL point at those frontends), the
// running PostgreSQL (a database of the stack's own, created, migrated and seeded by the build's
// db tool) and Redis (a key prefix of its own). `npm run stack` (scripts/stack.ts) runs it for
// people; test/scale-out.e2e.ts drives it, killing and restarting replicas under load.
//
// Every child runs in a process group of its own (processes.ts), so a signal meant for one
// replica reaches nothing else, and stop() leaves nothing behind.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { userIdFor } from '@commerce/db/ids';
import { signUserToken } from '@commerce/gateway/user-tokens';
import pg from 'pg';
import { generateKeys, type GraphKeys } from './keys.js';
import { haproxyBinary, haproxyConfig, type HaproxyLayout, readStats, type StatsRow, waitForServer } from './haproxy.js';
import { ADMIN_URL, adminQuery, databaseUrl } from './postgres.js';
import { ephemeralLow, portFree, run, type Run } from './processes.js';
import { dropPrefix, REDIS_URL } from './redis.js';

export const STACK_SUBGRAPHS = ['users', 'products', 'orders'] as const;
export type StackSubgraph = (typeof STACK_SUBGRAPHS)[number];
export type StackService = 'gateway' | StackSubgraph;

/** HAProxy's backend (and frontend) for a service. */
export const backendOf = (service: StackService): string => (service === 'gateway' ? 'gateways' : service);

export interface ReplicaSpec {
  /** `gateway-1`, `orders-2`: the process and its HAProxy server name. */
  name: string;
  service: StackService;
  port: number;
}

export interface StackLayout {
  host: string;
  /** The gateways' frontend: the stack's one public endpoint. */
  port: number;
  statsPort: number;
  /** Each subgraph's frontend. */
  frontends: Record<StackSubgraph, number>;
  replicas: ReplicaSpec[];
}

/**
 * Every port derives from the gateways' frontend (`port`, 4000 by default), so one variable moves
 * the whole stack: gateway replicas at port+10…, the subgraphs' frontends at port+101…103 (as in
 * docker-compose), their replicas at port+111… (users), +121… (products), +131… (orders), the
 * stats at port+4404 (8404 by default).
 */
export function stackLayout(options: { port?: number; statsPort?: number; replicas?: number; host?: string } = {}): StackLayout {
  const port = options.port ?? 4000;
  const count = options.replicas ?? 2;
  if (!Number.isInteger(count) || count < 1 || count > 9) throw new Error(`replicas: 1 to 9, not ${count}`);
  const first: Record<StackService, number> = { gateway: port + 10, users: port + 111, products: port + 121, orders: port + 131 };
  const replicas = (['gateway', ...STACK_SUBGRAPHS] as const).flatMap((service) =>
    Array.from({ length: count }, (_, i): ReplicaSpec => ({ name: `${service}-${i + 1}`, service, port: first[service] + i })),
  );
  return {
    host: options.host ?? '127.0.0.1',
    port,
    statsPort: options.statsPort ?? port + 4404,
    frontends: { users: port + 101, products: port + 102, orders: port + 103 },
    replicas,
  };
}

export const portsOf = (layout: StackLayout): number[] => [layout.port, layout.statsPort, ...Object.values(layout.frontends), ...layout.replicas.map((replica) => replica.port)];

/** The ports of the layout something already listens on. */
export async function busyPorts(layout: StackLayout): Promise<number[]> {
  const busy: number[] = [];
  for (const port of portsOf(layout)) if (!(await portFree(port, layout.host))) busy.push(port);
  return busy;
}

/**
 * A base port whose whole layout is free (for tests: the defaults may be taken by `npm run stack`).
 * The layout lies below the kernel's ephemeral range: a port chosen there could be taken, between
 * the check and a replica's (re)start, by another test's `freePort()` or by any outgoing
 * connection's local end (CI saw EADDRINUSE exactly so).
 */
export async function freeStackPort(replicas = 2): Promise<number> {
  const span = Math.max(...portsOf(stackLayout({ port: 0, replicas })));
  const low = 10_000;
  const high = Math.min(ephemeralLow(), 65_536) - span - 1;
  if (high <= low) throw new Error(`no room for a stack below the ephemeral ports (${ephemeralLow()})`);
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = low + 10 * Math.floor((Math.random() * (high - low)) / 10);
    if ((await busyPorts(stackLayout({ port, replicas }))).length === 0) return port;
  }
  throw new Error('no free range of ports for a stack');
}

/** The HAProxy layout of a stack layout. */
export function haproxyLayout(layout: StackLayout): HaproxyLayout {
  return {
    host: layout.host,
    statsPort: layout.statsPort,
    backends: (['gateway', ...STACK_SUBGRAPHS] as const).map((service) => ({
      name: backendOf(service),
      port: service === 'gateway' ? layout.port : layout.frontends[service],
      servers: layout.replicas.filter((replica) => replica.service === service).map(({ name, port }) => ({ name, port })),
    })),
  };
}

/** PostgreSQL's connection budget as the stack sizes its pools against it. */
export interface PoolPlan {
  maxConnections: number;
  reserved: number;
  /** Connections open when the stack started (other databases, other users of this server). */
  inUse: number;
  /** Left for the migrate/seed tool, psql and whatever else comes. */
  headroom: number;
  subgraphReplicas: number;
  poolSize: number;
}

export const POOL_SIZE_MAX = 5;
export const POOL_HEADROOM = 10;

/**
 * DATABASE_POOL_SIZE for every subgraph replica: what is left of max_connections (less the
 * superuser reserve, the connections open now and a headroom), shared among the replicas, at most
 * POOL_SIZE_MAX (a Node process runs one query thread; docs/deploy.md#connection-pools). Throws
 * when not even one connection each fits, or when `requested` does not fit.
 */
export async function planPools(adminUrl: string, subgraphReplicas: number, requested?: number): Promise<PoolPlan> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const value = async (sql: string) => Number(Object.values((await client.query(sql)).rows[0] as Record<string, unknown>)[0]);
    const maxConnections = await value('SHOW max_connections');
    const reserved = await value('SHOW superuser_reserved_connections');
    const inUse = await value('SELECT count(*) FROM pg_stat_activity WHERE backend_type = $$client backend$$');
    const available = maxConnections - reserved - inUse - POOL_HEADROOM;
    const poolSize = requested ?? Math.min(POOL_SIZE_MAX, Math.floor(available / subgraphReplicas));
    const plan = { maxConnections, reserved, inUse, headroom: POOL_HEADROOM, subgraphReplicas, poolSize };
    if (poolSize < 1 || poolSize * subgraphReplicas > available) {
      throw new Error(`the pools do not fit: ${subgraphReplicas} subgraph replicas × ${poolSize} > max_connections ${maxConnections} − ${reserved} reserved − ${inUse} in use − ${POOL_HEADROOM} headroom`);
    }
    return plan;
  } finally {
    await client.end();
  }
}

export const describePools = (plan: PoolPlan): string =>
  `pools: ${plan.subgraphReplicas} subgraph replicas × DATABASE_POOL_SIZE ${plan.poolSize} = ${plan.subgraphReplicas * plan.poolSize} connections at most, of max_connections ${plan.maxConnections} (${plan.reserved} reserved, ${plan.inUse} in use at start, ${plan.headroom} kept free)`;

export interface StackOptions {
  /** The production build's directory (scripts/build.ts): `node <build>/<service>/index.js`. */
  build: string;
  layout?: StackLayout;
  /** The stack's own database on the running PostgreSQL: created when missing, migrated, seeded when empty. */
  database?: string;
  adminUrl?: string;
  redisUrl?: string;
  /** The stack's key prefix in Redis (CACHE_PREFIX of every service). */
  prefix?: string;
  /** Drop the database and the prefix's keys at stop (tests). */
  ephemeral?: boolean;
  keys?: GraphKeys;
  /** DATABASE_POOL_SIZE; by default planned against max_connections (planPools). */
  poolSize?: number;
  /** LOG_LEVEL of the services (warn: only what goes wrong; info: a line per request). */
  logLevel?: string;
  /** Added to every service's environment, then the gateways' or the subgraphs'. */
  env?: Record<string, string>;
  gatewayEnv?: Record<string, string>;
  subgraphEnv?: Record<string, string>;
  /** Where the generated HAProxy config is written (a temporary directory by default). */
  configDir?: string;
  /** Every line the children print, with the child's name (a launcher shows them). */
  echo?: (name: string, text: string) => void;
  /** Progress of the start, one line a step. */
  progress?: (line: string) => void;
  /** A child exited that nobody stopped (a crash). */
  onUnexpectedExit?: (name: string, code: number | null) => void;
}

export interface Replica extends ReplicaSpec {
  url: string;
  /** The running process, or null while stopped. */
  process: Run | null;
}

export interface Stack {
  layout: StackLayout;
  /** http://host:port/graphql: through HAProxy to the gateways. */
  url: string;
  statsUrl: string;
  databaseUrl: string;
  prefix: string;
  pools: PoolPlan;
  keys: GraphKeys;
  haproxyConfigPath: string;
  replicas: Replica[];
  replica(name: string): Replica;
  /** Starts a replica (again) on its port; resolves when it says ready. */
  start(name: string): Promise<Run>;
  /** Signals a replica's process group (SIGKILL: gone at once, nothing drained). */
  signal(name: string, signal: NodeJS.Signals): void;
  /** SIGKILL, and waits for the process to be gone. */
  kill(name: string): Promise<void>;
  /** SIGTERM, and waits for the exit (the drain): its code and how long it took. */
  terminate(name: string): Promise<{ code: number | null; ms: number }>;
  stats(): Promise<StatsRow[]>;
  /** What HAProxy logged lately (only what went wrong: `option dontlog-normal`). */
  haproxyOutput(): string;
  /** Resolves (with the ms it took) once HAProxy's checks show the replica UP or DOWN. */
  waitFor(name: string, status: 'UP' | 'DOWN', timeoutMs?: number): Promise<number>;
  tokenFor(email: string, role?: 'USER' | 'ADMIN'): Promise<string>;
  /** Graceful: SIGTERM (gateways first, then the subgraphs, HAProxy last), SIGKILL after the services' timeout; else SIGKILL at once. */
  stop(options?: { graceful?: boolean }): Promise<void>;
}

const SHUTDOWN_TIMEOUT_MS = 10_000;
const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

async function ensureDatabase(adminUrl: string, name: string): Promise<boolean> {
  if (!IDENTIFIER.test(name)) throw new Error(`database name ${name}: lower-case letters, digits and _`);
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount) return false;
    await client.query(`CREATE DATABASE ${name}`);
    return true;
  } finally {
    await client.end();
  }
}

/** What the stack's services are started with (test/deploy.test.ts holds it to their config schemas). */
export function stackEnvironment(options: {
  layout: StackLayout;
  keys: GraphKeys;
  databaseUrl: string;
  redisUrl: string;
  prefix: string;
  poolSize: number;
  logLevel?: string;
  env?: Record<string, string>;
  gatewayEnv?: Record<string, string>;
  subgraphEnv?: Record<string, string>;
}): { gateway: Record<string, string>; subgraph: Record<string, string> } {
  const { layout, keys } = options;
  const frontendUrl = (port: number) => `http://${layout.host}:${port}/graphql`;
  const common: Record<string, string> = {
    NODE_ENV: 'production',
    HOST: layout.host,
    LOG_LEVEL: options.logLevel ?? 'warn',
    REDIS_URL: options.redisUrl,
    CACHE_PREFIX: options.prefix,
    SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
    ...options.env,
  };
  return {
    gateway: {
      ...common,
      JWT_SECRET: keys.jwtSecret,
      IDENTITY_PRIVATE_KEY: keys.identityPrivateKey,
      ...Object.fromEntries(STACK_SUBGRAPHS.map((name) => [`SUBGRAPH_URL_${name.toUpperCase()}`, frontendUrl(layout.frontends[name])])),
      // HAProxy appends the client's address to X-Forwarded-For: budgets key on it, not on HAProxy's.
      TRUST_PROXY_HOPS: '1',
      ...options.gatewayEnv,
    },
    subgraph: {
      ...common,
      DATABASE_URL: options.databaseUrl,
      DATABASE_POOL_SIZE: String(options.poolSize),
      IDENTITY_PUBLIC_KEY: keys.identityPublicKey,
      // The stack migrated before any replica starts, and seeds only through its db tool.
      MIGRATE_ON_START: 'false',
      SEED_ON_START: 'false',
      PRODUCTS_URL: frontendUrl(layout.frontends.products),
      ...options.subgraphEnv,
    },
  };
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const layout = options.layout ?? stackLayout();
  const progress = options.progress ?? (() => {});
  const haproxy = haproxyBinary();
  if (!haproxy) throw new Error('HAProxy is not installed (Debian: apt-get install -y haproxy)');
  const busy = await busyPorts(layout);
  if (busy.length > 0) throw new Error(`ports in use: ${busy.join(', ')} (another stack? set STACK_PORT to move them all)`);

  const adminUrl = options.adminUrl ?? ADMIN_URL;
  const redisUrl = options.redisUrl ?? REDIS_URL;
  const databaseName = options.database ?? 'commerce_stack';
  const prefix = options.prefix ?? 'stack';
  const keys = options.keys ?? generateKeys();
  const subgraphReplicas = layout.replicas.filter((replica) => replica.service !== 'gateway').length;
  const pools = await planPools(adminUrl, subgraphReplicas, options.poolSize);
  const dbUrl = databaseUrl(databaseName, adminUrl);
  const frontendUrl = (port: number) => `http://${layout.host}:${port}/graphql`;
  const { gateway: gatewayEnv, subgraph: subgraphEnv } = stackEnvironment({
    layout,
    keys,
    databaseUrl: dbUrl,
    redisUrl,
    prefix,
    poolSize: pools.poolSize,
    logLevel: options.logLevel,
    env: options.env,
    gatewayEnv: options.gatewayEnv,
    subgraphEnv: options.subgraphEnv,
  });
  const envOf = (service: StackService, port: number) => ({ ...(service === 'gateway' ? gatewayEnv : subgraphEnv), PORT: String(port) });
  const entry = (name: string) => join(options.build, name, 'index.js');
  const echo = (name: string) => (options.echo ? (text: string) => options.echo!(name, text) : undefined);
  // Hours of logs must not pile up in memory: the latest 64 kB of each child is enough to report a failure.
  const RETAIN = 64 * 1024;

  const created = await ensureDatabase(adminUrl, databaseName);
  progress(`database ${databaseName}: ${created ? 'created' : 'exists'}; ${describePools(pools)}`);
  for (const command of ['migrate', 'seed']) {
    const tool = run('', subgraphEnv, { compiled: entry('db'), args: [command], cwd: options.build });
    const code = await tool.exited;
    if (code !== 0) throw new Error(`node ${entry('db')} ${command} exited with ${code}:\n${tool.output()}`);
    progress(`db ${command}: ${tool.output().trim().split('\n').join('; ')}`);
  }

  const configDir = options.configDir ?? mkdtempSync(join(tmpdir(), 'commerce-stack-'));
  mkdirSync(configDir, { recursive: true });
  const haproxyConfigPath = join(configDir, 'haproxy.cfg');
  writeFileSync(haproxyConfigPath, haproxyConfig(haproxyLayout(layout)));
  try {
    execFileSync(haproxy, ['-c', '-f', haproxyConfigPath], { encoding: 'utf8', stdio: 'pipe' });
  } catch (error) {
    throw new Error(`haproxy -c rejects ${haproxyConfigPath}:\n${(error as { stderr?: string }).stderr ?? error}`);
  }

  const replicas: Replica[] = layout.replicas.map((spec) => ({ ...spec, url: `http://${layout.host}:${spec.port}/graphql`, process: null }));
  const byName = new Map(replicas.map((replica) => [replica.name, replica]));
  const expected = new Set<Run>(); // exits someone asked for
  let stopping = false;
  const watch = (name: string, child: Run) => {
    void child.exited.then((code) => {
      if (!stopping && !expected.has(child)) options.onUnexpectedExit?.(name, code);
    });
  };

  let balancer: Run | null = null;
  const statsUrl = `http://${layout.host}:${layout.statsPort}/stats`;

  const replica = (name: string): Replica => {
    const found = byName.get(name);
    if (!found) throw new Error(`no replica ${name} (there are ${[...byName.keys()].join(', ')})`);
    return found;
  };
  const start = async (name: string): Promise<Run> => {
    const target = replica(name);
    if (target.process && target.process.child.exitCode === null && target.process.child.signalCode === null) throw new Error(`${name} is running`);
    const child = run('', envOf(target.service, target.port), { compiled: entry(target.service), cwd: options.build, echo: echo(name), retain: RETAIN });
    target.process = child;
    watch(name, child);
    await child.ready;
    return child;
  };
  const signal = (name: string, sig: NodeJS.Signals) => {
    const child = replica(name).process;
    if (!child) return;
    expected.add(child);
    child.kill(sig);
  };
  const everything = () => [...(balancer ? [balancer] : []), ...replicas.flatMap((r) => (r.process ? [r.process] : []))];
  const stop = async ({ graceful = false } = {}) => {
    stopping = true;
    const group = async (children: Run[]) => {
      for (const child of children) child.kill(graceful ? 'SIGTERM' : 'SIGKILL');
      const killer = setTimeout(() => children.forEach((child) => child.kill('SIGKILL')), SHUTDOWN_TIMEOUT_MS + 2000);
      await Promise.all(children.map((child) => child.exited));
      clearTimeout(killer);
    };
    const of = (gateway: boolean) => replicas.filter((r) => (r.service === 'gateway') === gateway).flatMap((r) => (r.process ? [r.process] : []));
    if (graceful) {
      await group(of(true));
      await group(of(false));
      await group(balancer ? [balancer] : []);
    } else {
      await group(everything());
    }
    if (options.ephemeral) {
      await adminQuery(`DROP DATABASE IF EXISTS ${databaseName} WITH (FORCE)`, adminUrl).catch(() => {});
      await dropPrefix(redisUrl, prefix);
      if (!options.configDir) rmSync(configDir, { recursive: true, force: true });
    }
  };

  const stack: Stack = {
    layout,
    url: frontendUrl(layout.port),
    statsUrl,
    databaseUrl: dbUrl,
    prefix,
    pools,
    keys,
    haproxyConfigPath,
    replicas,
    replica,
    start,
    signal,
    kill: async (name) => {
      const child = replica(name).process;
      signal(name, 'SIGKILL');
      await child?.exited;
    },
    terminate: async (name) => {
      const child = replica(name).process;
      if (!child) throw new Error(`${name} is not running`);
      const started = performance.now();
      signal(name, 'SIGTERM');
      const code = await child.exited;
      return { code, ms: performance.now() - started };
    },
    stats: () => readStats(statsUrl),
    haproxyOutput: () => balancer?.output() ?? '',
    waitFor: (name, status, timeoutMs) => waitForServer(statsUrl, backendOf(replica(name).service), name, status, timeoutMs),
    tokenFor: (email, role = 'USER') => signUserToken(keys.jwtSecret, { userId: userIdFor(email), role }),
    stop,
  };

  try {
    progress(`starting ${replicas.map((r) => r.name).join(', ')}`);
    // The subgraphs, then the gateways (fewer processes starting at once on a small machine), then
    // HAProxy, which finds them all up at its first checks. Nothing needs it before: a gateway
    // starts from the supergraph file, orders asks products only when an order comes.
    await Promise.all(replicas.filter((r) => r.service !== 'gateway').map((r) => start(r.name)));
    await Promise.all(replicas.filter((r) => r.service === 'gateway').map((r) => start(r.name)));
    progress(`haproxy -f ${haproxyConfigPath} -db`);
    // In the foreground HAProxy reports a server's state change twice: in its log (stdout) and as
    // a warning on stderr. The log's line is shown; the copy is kept in the output only. (-q
    // would drop both: quiet mode closes its stdout too.)
    const echoHaproxy = echo('haproxy');
    const copy = /^\[(WARNING|ALERT|NOTICE)\] +\(\d+\) : (Server|backend) /;
    const shown = echoHaproxy ? (text: string) => echoHaproxy(text.split('\n').filter((line) => !copy.test(line)).join('\n')) : undefined;
    const proxy = run('', {}, { exec: [haproxy, '-f', haproxyConfigPath, '-db'], cwd: configDir, echo: shown, retain: RETAIN });
    balancer = proxy;
    watch('haproxy', proxy);
    await waitUntil(
      async () => {
        if (proxy.child.exitCode !== null) throw new StartFailed(`HAProxy exited with ${proxy.child.exitCode}:\n${proxy.output()}`);
        return (await readStats(statsUrl)).length > 0;
      },
      10_000,
      'HAProxy answers on its stats port',
    );
    await Promise.all(replicas.map((r) => stack.waitFor(r.name, 'UP', 15_000)));
    // The budgets and the response cache fail open until a gateway's Redis client is connected.
    await Promise.all(replicas.filter((r) => r.service === 'gateway').map((r) => cacheConnected(r.url)));
  } catch (error) {
    await stop();
    throw error;
  }
  return stack;
}

/** What ends a wait at once (anything else a check throws means "not yet"). */
class StartFailed extends Error {}

/** Polls `check` until it is true. */
async function waitUntil(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const started = performance.now();
  for (;;) {
    let done = false;
    try {
      done = await check();
    } catch (error) {
      if (error instanceof StartFailed) throw error;
    }
    if (done) return;
    if (performance.now() - started > timeoutMs) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Waits (at most 5 s, then goes on: fail-open is the services' design) until /ready says the cache reaches Redis. */
async function cacheConnected(graphqlUrl: string): Promise<void> {
  await waitUntil(
    async () => {
      const report = (await (await fetch(graphqlUrl.replace(/\/graphql$/, '/ready'))).json()) as { checks?: { cache?: unknown } };
      return /^(ok|off)/.test(String(report.checks?.cache ?? ''));
    },
    5000,
    'cache connected',
  ).catch(() => {});
}
