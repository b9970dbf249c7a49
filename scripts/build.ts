// npm run build: the production build. esbuild bundles each service (and the migrate/seed tool and
// the embedded graph) into dist/<name>/index.js with source maps, and copies the files they read
// at run time beside them, so `node dist/<name>/index.js` starts with nothing left to compile and
// dist/ runs wherever it is copied next to a node_modules (the container image).
//
// Why a bundle: the workspace packages export TypeScript (src/*.ts), so the sources cannot run
// under plain node; and one file per service instead of hundreds of small modules is most of what
// makes a cold start fast (docs/deploy.md, npm run bench:start). Shared code between the entries
// goes into dist/chunks/, and so do the lazily imported parts (the OpenTelemetry SDK), so a
// service still loads them only when it needs them.
//
// Types are not checked here (esbuild strips them): `npm run typecheck` does that, in CI first.
import { cpSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';
import { explorerAssetFiles } from '@commerce/gateway/explorer';

export const ROOT = join(import.meta.dirname, '..');
export const DIST = join(ROOT, 'dist');

/** What the build produces: `node dist/<name>/index.js` runs each. */
export const ENTRIES = {
  gateway: 'gateway/src/index.ts',
  users: 'subgraphs/users/src/index.ts',
  products: 'subgraphs/products/src/index.ts',
  orders: 'subgraphs/orders/src/index.ts',
  /** `node dist/db/index.js migrate | seed [--reset]`: what `npm run db:migrate` / `db:seed` do (the migration job). */
  db: 'scripts/db.ts',
  /** The embedded whole graph of `npm start`, compiled. */
  graph: 'scripts/graph.ts',
  /** The image's HEALTHCHECK: exit 0 when this container's service answers GET /health. */
  healthcheck: 'scripts/healthcheck.ts',
} as const;

export type Entry = keyof typeof ENTRIES;
export const SERVICES = ['gateway', 'users', 'products', 'orders'] as const satisfies readonly Entry[];

/** The file of an entry, relative to the project root (the image's working directory). */
export const entryFile = (name: Entry): string => `dist/${name}/index.js`;

/**
 * Packages left in node_modules and loaded from there at run time, because bundling would break
 * them: they find files beside their own code (PGlite's wasm and data files, pino's worker
 * threads, Prisma's query compiler), hook module loading (OpenTelemetry's instrumentation, which
 * Prisma's uses), or may load a native binding (pg's optional pg-native). Everything else is plain
 * JavaScript and goes into the bundle: one file parsed at start instead of hundreds resolved and
 * read one by one. That matters most for what @apollo/gateway loads at start (its own OpenTelemetry
 * metrics: the SDK, resource detectors, exporters), and the OpenTelemetry API's copies share one
 * global registration by design, so a bundled copy and node_modules' agree.
 */
export const EXTERNAL = ['@electric-sql/pglite', '@prisma/client', '@prisma/instrumentation', '@opentelemetry/instrumentation', 'pg', 'pg-native', 'pino'] as const;

const packageOf = (specifier: string): string => specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/');
const isExternal = (specifier: string): boolean => (EXTERNAL as readonly string[]).includes(packageOf(specifier));

/**
 * Files read at run time, copied to the same place under dist/: the subgraphs' SDL, the supergraph
 * the gateway starts from and its trusted documents' manifest, each subgraph's Prisma schema (its
 * cache key version) and migrations.
 * The code finds them by walking up from itself (platform runtime-files.ts): dist/ in the build.
 */
export function runtimeFiles(): string[] {
  const subgraphs = ['users', 'products', 'orders'];
  return [
    'schema/supergraph.graphql',
    'clients/persisted-query-manifest.json',
    ...subgraphs.map((name) => `schema/${name}.graphql`),
    ...subgraphs.map((name) => `prisma/${name}/schema.prisma`),
    ...subgraphs.flatMap((name) =>
      readdirSync(join(ROOT, 'prisma', name, 'migrations'), { withFileTypes: true })
        .filter((entry) => entry.isDirectory())
        .map((entry) => `prisma/${name}/migrations/${entry.name}/migration.sql`),
    ),
  ];
}

/** Bare imports: our workspace packages are bundled from source, the rest as EXTERNAL says. */
const externals: esbuild.Plugin = {
  name: 'externals',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (args) => (isExternal(args.path) ? { path: args.path, external: true } : undefined));
  },
};

/**
 * Builds into `outDir` (default dist/), emptied first. Another directory serves tests: one outside
 * the repository, beside a link to node_modules, is the image's layout and proves dist/ needs
 * nothing from the sources.
 */
export async function build(outDir = DIST): Promise<{ files: string[]; ms: number }> {
  const started = performance.now();
  rmSync(outDir, { recursive: true, force: true });
  const result = await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: Object.fromEntries(Object.entries(ENTRIES).map(([name, source]) => [`${name}/index`, source])),
    outdir: outDir,
    bundle: true,
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: 'linked',
    // Whitespace and syntax only (names are kept for stack traces and constructor checks): about a
    // third fewer bytes to read and parse at every start, and the source maps map it all back.
    minifyWhitespace: true,
    minifySyntax: true,
    // Bundled CommonJS (Express, Apollo) calls require() for Node's built-ins and the externals.
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
    // graphql's CommonJS build (its `main`), the one Apollo's CommonJS code requires: one copy, one realm.
    mainFields: ['main', 'module'],
    plugins: [externals],
    metafile: true,
    logLevel: 'warning',
  });
  const graphqlCopies = new Set(Object.keys(result.metafile.inputs).filter((input) => /node_modules\/graphql\/index\.m?js$/.test(input)));
  if (graphqlCopies.size !== 1) throw new Error(`expected one copy of graphql in the bundle, found ${[...graphqlCopies].join(', ') || 'none'}`);
  for (const file of runtimeFiles()) {
    mkdirSync(join(outDir, file, '..'), { recursive: true });
    cpSync(join(ROOT, file), join(outDir, file));
  }
  // GraphiQL's published build and React's, which the gateway serves at /graphiql: from the
  // gateway's dev dependencies into dist/explorer/, so the image needs none of them installed.
  mkdirSync(join(outDir, 'explorer'), { recursive: true });
  for (const [name, file] of Object.entries(explorerAssetFiles())) cpSync(file, join(outDir, 'explorer', name));
  // The bundles are ES modules wherever dist/ is copied.
  writeFileSync(join(outDir, 'package.json'), `${JSON.stringify({ private: true, type: 'module' }, null, 2)}\n`);
  return { files: Object.keys(result.metafile.outputs).map((file) => relative(outDir, join(ROOT, file))), ms: performance.now() - started };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { files, ms } = await build();
  const entries = files.filter((file) => file.endsWith('/index.js')).map((file) => `dist/${file}`);
  console.log(`built ${entries.join(', ')} (+ ${files.length - entries.length} chunks and maps) and copied ${runtimeFiles().length} runtime files in ${Math.round(ms)} ms`);
}
