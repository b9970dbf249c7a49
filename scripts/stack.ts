// npm run stack: the production shape as processes on this machine, from the compiled build.
// HAProxy on :4000 in front of 2 gateway replicas, HAProxy frontends on :4101-4103 in front of 2
// replicas of each subgraph, stats at http://127.0.0.1:8404/stats, the running PostgreSQL (database
// commerce_stack, created, migrated and seeded here) and Redis (key prefix `stack`). Ctrl-C (or
// SIGTERM) drains and stops all of it; a second Ctrl-C kills it at once.
//
// dist/ is built first when it is missing or older than a source file (what `npm run build` does).
// The services run with NODE_ENV=production and the development keys of DATA_DIR (.data/dev-keys.json,
// as `npm start` makes them), so `npm run -s token -- --email …` signs tokens the stack accepts.
//
//   STACK_PORT        the gateways' frontend (4000); every other port moves with it (stack.ts in the harness)
//   STACK_STATS_PORT  HAProxy's stats (STACK_PORT + 4404)
//   STACK_REPLICAS    replicas of each service (2)
//   STACK_DATABASE    the database's name (commerce_stack); STACK_POSTGRES_URL the server (postgresql://postgres@127.0.0.1:5432/postgres)
//   STACK_PREFIX      the Redis key prefix (stack); REDIS_URL the server (redis://127.0.0.1:6379)
//   STACK_POOL_SIZE   DATABASE_POOL_SIZE of each subgraph replica (planned against max_connections)
//   LOG_LEVEL         the services' (warn; info logs every request)
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { loadOrCreateDevKeys } from '@commerce/platform/dev-keys';
import { type Stack, stackLayout, startStack } from '@commerce/harness/stack';
import { build, DIST, ROOT } from './build.js';

/** What the build is made of: a file newer than dist/ makes it stale. */
const SOURCES = ['gateway/src', 'subgraphs', 'packages/platform/src', 'packages/subgraph-kit/src', 'packages/messaging/src', 'prisma', 'schema', 'scripts/build.ts', 'scripts/db.ts', 'scripts/graph.ts', 'scripts/healthcheck.ts', 'package-lock.json'];

function newestSource(): { file: string; mtimeMs: number } {
  let newest = { file: '', mtimeMs: 0 };
  const visit = (path: string) => {
    const stat = statSync(path);
    if (stat.isDirectory()) {
      // Generated code is rewritten (same bytes, new time) by every typecheck; its inputs, the
      // Prisma schemas and the SDL, are watched instead.
      for (const entry of readdirSync(path)) if (entry !== 'node_modules' && entry !== 'generated' && !entry.startsWith('.')) visit(join(path, entry));
    } else if (stat.mtimeMs > newest.mtimeMs) {
      newest = { file: relative(ROOT, path), mtimeMs: stat.mtimeMs };
    }
  };
  for (const source of SOURCES) if (existsSync(join(ROOT, source))) visit(join(ROOT, source));
  return newest;
}

/** Why dist/ must be built first, or null when it is up to date (build() writes dist/package.json last). */
function staleBuild(): string | null {
  const marker = join(DIST, 'package.json');
  if (!existsSync(marker)) return 'dist/ is missing';
  const newest = newestSource();
  return newest.mtimeMs > statSync(marker).mtimeMs ? `${newest.file} is newer than dist/` : null;
}

const env = process.env;
const number = (name: string): number | undefined => {
  const value = env[name];
  if (value === undefined || value === '') return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0) {
    console.error(`${name} must be a positive integer, not ${value}`);
    process.exit(2);
  }
  return parsed;
};

const why = staleBuild();
if (why) {
  console.log(`stack: ${why}; building (npm run build)…`);
  const { ms } = await build();
  console.log(`stack: built dist/ in ${Math.round(ms)} ms`);
}

const layout = stackLayout({ port: number('STACK_PORT'), statsPort: number('STACK_STATS_PORT'), replicas: number('STACK_REPLICAS') });
const devKeys = loadOrCreateDevKeys(join(ROOT, env.DATA_DIR ?? '.data'));
const width = Math.max(...layout.replicas.map((replica) => replica.name.length), 'haproxy'.length);
/** Children's lines, each with its name in front. */
const echo = (name: string, text: string) => {
  for (const line of text.split('\n')) if (line.trim() !== '') process.stdout.write(`${name.padEnd(width)} | ${line}\n`);
};

let stack: Stack | undefined;
let stopping = false;
const stopAll = async (reason: string, code: number) => {
  if (stopping) return;
  stopping = true;
  console.log(`stack: ${reason}; draining the gateways, then the subgraphs, then HAProxy (Ctrl-C again kills everything now)`);
  await stack?.stop({ graceful: true });
  console.log('stack: stopped');
  process.exit(code);
};
let firstSignalAt = 0;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (!stopping) {
      firstSignalAt = performance.now();
      void stopAll(signal, 0);
    } else if (performance.now() - firstSignalAt > 1000) {
      // A second Ctrl-C; not the copy of the first one that npm or tsx relays a moment later.
      void stack?.stop({ graceful: false }).then(() => process.exit(130));
    }
  });
}

try {
  stack = await startStack({
    build: DIST,
    layout,
    database: env.STACK_DATABASE || 'commerce_stack',
    adminUrl: env.STACK_POSTGRES_URL || undefined,
    redisUrl: env.REDIS_URL || undefined,
    prefix: env.STACK_PREFIX || 'stack',
    poolSize: number('STACK_POOL_SIZE'),
    logLevel: env.LOG_LEVEL || 'warn',
    keys: devKeys,
    configDir: join(ROOT, '.data', 'stack'),
    echo,
    progress: (line) => console.log(`stack: ${line}`),
    onUnexpectedExit: (name, code) => {
      if (name === 'haproxy') void stopAll(`HAProxy exited (${code})`, 1);
      else console.log(`stack: ${name} exited (${code}); HAProxy sends its requests to the other replicas`);
    },
  });
} catch (error) {
  console.error(`stack: ${(error as Error).message}`);
  process.exit(1);
}

const { host } = layout;
console.log(`
stack: ready
  GraphQL   http://${host}:${layout.port}/graphql (HAProxy → ${stack.replicas.filter((r) => r.service === 'gateway').map((r) => `${r.name} :${r.port}`).join(', ')})
  stats     ${stack.statsUrl}
  subgraphs ${(['users', 'products', 'orders'] as const).map((name) => `${name} :${layout.frontends[name]} → ${stack!.replicas.filter((r) => r.service === name).map((r) => `:${r.port}`).join(' ')}`).join('; ')}
  data      PostgreSQL database ${new URL(stack.databaseUrl).pathname.slice(1)}, Redis prefix ${stack.prefix}; HAProxy config ${relative(ROOT, stack.haproxyConfigPath)}
  a token   npm run -s token -- --email admin@example.com
Ctrl-C stops it all.`);
