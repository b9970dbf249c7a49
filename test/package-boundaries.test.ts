// The packages' boundaries, checked on the source: the gateway's import graph (every file it can
// load, dynamic imports included, across the workspace packages it uses) never reaches anything
// subgraph-only (PGlite, Prisma, @apollo/subgraph, rate-limiter-flexible, the subgraph kit, the
// messaging package, the database package, the test and bench harness); nothing under gateway/
// imports from subgraphs/; the harness is the tests' and the benchmarks' only (no service or shared
// package depends on it or imports it); and every workspace package names what it exports (no
// wildcard: each module public on purpose).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');

interface Workspace {
  name: string;
  dir: string;
  exports: Record<string, string> | string | undefined;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
}

const workspaces: Workspace[] = ['packages', 'subgraphs']
  .flatMap((parent) => readdirSync(join(ROOT, parent)).map((name) => join(ROOT, parent, name)))
  .concat([join(ROOT, 'gateway'), join(ROOT, 'prisma')])
  .filter((dir) => existsSync(join(dir, 'package.json')))
  .map((dir) => {
    const json = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name: string; exports?: Workspace['exports']; dependencies?: Record<string, string>; devDependencies?: Record<string, string> };
    return { name: json.name, dir, exports: json.exports, dependencies: json.dependencies ?? {}, devDependencies: json.devDependencies ?? {} };
  });
const byName = new Map(workspaces.map((workspace) => [workspace.name, workspace]));

/** Every module specifier a file names: static imports and re-exports, and dynamic import() of a string. */
function specifiers(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found: string[] = [];
  for (const match of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"`;]*?\bfrom\s*'([^']+)'|(?:^|\n)\s*import\s*'([^']+)'|\bimport\(\s*'([^']+)'\s*\)/g)) found.push(match[1] ?? match[2] ?? match[3]!);
  return found;
}

/** A workspace package's module file, from its exports map. */
function workspaceFile(specifier: string): string | null {
  const [scope, name, ...rest] = specifier.split('/');
  const workspace = byName.get(`${scope}/${name}`);
  if (!workspace) return null;
  const subpath = rest.length > 0 ? `./${rest.join('/')}` : '.';
  const exports = typeof workspace.exports === 'string' ? { '.': workspace.exports } : (workspace.exports ?? {});
  const target = exports[subpath];
  if (!target) throw new Error(`${specifier}: ${workspace.name} does not export ${subpath}`);
  return join(workspace.dir, target);
}

/** Walks every file reachable from `entries`; returns the bare (npm) packages they import, by the file importing them. */
function importGraph(entries: string[]): { files: Set<string>; packages: Map<string, string> } {
  const files = new Set<string>();
  const packages = new Map<string, string>();
  const queue = [...entries];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    for (const specifier of specifiers(file)) {
      if (specifier.startsWith('node:')) continue;
      if (specifier.startsWith('.')) {
        const base = resolve(dirname(file), specifier);
        const candidate = [base.replace(/\.js$/, '.ts'), base, `${base}.ts`, join(base, 'index.ts')].find((path) => existsSync(path) && !path.endsWith('/'));
        if (!candidate) throw new Error(`${relative(ROOT, file)}: cannot resolve ${specifier}`);
        queue.push(candidate);
        continue;
      }
      const local = specifier.startsWith('@commerce/') ? workspaceFile(specifier) : null;
      if (local) queue.push(local);
      else {
        const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!;
        if (!packages.has(name)) packages.set(name, relative(ROOT, file));
      }
    }
  }
  return { files, packages };
}

const SUBGRAPH_ONLY = /^(@electric-sql\/pglite|pglite-prisma-adapter|@prisma\/.*|prisma|@apollo\/subgraph|rate-limiter-flexible|dataloader|pg)$/;

/** A workspace's own source files (its generated code and dependencies aside). */
const sourcesOf = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((file) => /\.(ts|mts|mjs)$/.test(file) && !file.includes('node_modules') && !file.includes('generated/'))
    .map((file) => join(dir, file));

describe('package boundaries', () => {
  const gateway = byName.get('@commerce/gateway')!;
  const sources = readdirSync(join(gateway.dir, 'src'), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts'))
    .map((file) => join(gateway.dir, 'src', file));

  it('the gateway never loads anything subgraph-only, whatever path its imports take', () => {
    const { files, packages } = importGraph(sources);
    const reached = [...files].map((file) => relative(ROOT, file));
    expect(reached.filter((file) => !file.startsWith('gateway/') && !file.startsWith('packages/platform/'))).toEqual([]);
    expect([...packages].filter(([name]) => SUBGRAPH_ONLY.test(name)).map(([name, by]) => `${name} (imported by ${by})`)).toEqual([]);
    // Sanity: the walk does see through the platform into what it uses.
    expect(packages.has('pino') && packages.has('@apollo/gateway') && packages.has('jose')).toBe(true);
  });

  it('the gateway declares no subgraph-only dependency, and nothing under gateway/ imports from subgraphs/', () => {
    expect(Object.keys(gateway.dependencies).filter((name) => SUBGRAPH_ONLY.test(name) || ['@commerce/subgraph-kit', '@commerce/messaging', '@commerce/db', '@commerce/harness', '@commerce/users', '@commerce/products', '@commerce/orders'].includes(name))).toEqual([]);
    const offenders = readdirSync(gateway.dir, { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.ts') && !file.includes('node_modules'))
      .filter((file) => specifiers(join(gateway.dir, file)).some((specifier) => specifier.includes('subgraphs/') || /^@commerce\/(users|products|orders|subgraph-kit|messaging|db|harness)\b/.test(specifier)));
    expect(offenders).toEqual([]);
  });

  it('the harness is the tests\' and the benchmarks\' only: no other workspace depends on it or imports it or test/; the benchmarks import nothing from test/', () => {
    const others = workspaces.filter((workspace) => workspace.name !== '@commerce/harness');
    expect(others.filter((workspace) => '@commerce/harness' in workspace.dependencies || '@commerce/harness' in workspace.devDependencies).map((workspace) => workspace.name)).toEqual([]);
    const offenders = others.flatMap((workspace) =>
      sourcesOf(workspace.dir)
        .filter((file) => specifiers(file).some((specifier) => specifier.startsWith('@commerce/harness') || /(^|\/)test\//.test(specifier)))
        .map((file) => relative(ROOT, file)),
    );
    expect(offenders).toEqual([]);
    // …and the harness itself never reaches back into the tests or scripts.
    const harness = byName.get('@commerce/harness')!;
    expect(sourcesOf(harness.dir).filter((file) => specifiers(file).some((specifier) => /(^|\/)(test|scripts)\//.test(specifier))).map((file) => relative(ROOT, file))).toEqual([]);
    // The benchmarks take their harness from it, not from the tests' support files.
    expect(sourcesOf(join(ROOT, 'scripts')).filter((file) => specifiers(file).some((specifier) => /(^|\/)test\//.test(specifier))).map((file) => relative(ROOT, file))).toEqual([]);
    // Not vacuous: the harness is there, and the benchmarks do use it.
    expect(specifiers(join(ROOT, 'scripts', 'bench-saga.ts'))).toContain('@commerce/harness/process-graph');
  });

  it('every workspace package names its exports, without wildcards, and every one exists', () => {
    for (const workspace of workspaces) {
      expect(workspace.exports, workspace.name).toBeDefined();
      const entries = typeof workspace.exports === 'string' ? { '.': workspace.exports } : workspace.exports!;
      for (const [subpath, target] of Object.entries(entries)) {
        expect(`${workspace.name} ${subpath}`).not.toContain('*');
        expect(existsSync(join(workspace.dir, target)), `${workspace.name} ${subpath} -> ${target}`).toBe(true);
      }
    }
  });

  it('every workspace declares exactly the packages its code imports (its generated code included), no more and no fewer', () => {
    // Type-only and runtime imports alike: what a package needs to build is what it declares. A
    // package whose files are served rather than imported (the gateway's explorer) is resolved.
    const imported = (file: string): string[] =>
      [...readFileSync(file, 'utf8').matchAll(/^\s*(?:import|export)\b[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]|^\s*import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)|\brequire\.resolve\(\s*['"]([^'"]+)['"]/gm)]
        .map((match) => (match[1] ?? match[2] ?? match[3] ?? match[4])!)
        .filter((specifier) => !specifier.startsWith('.') && !specifier.startsWith('node:'))
        .map((specifier) => (specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!));
    const problems: string[] = [];
    for (const workspace of workspaces) {
      const files = readdirSync(workspace.dir, { recursive: true, encoding: 'utf8' })
        .filter((file) => /\.(ts|mts|mjs)$/.test(file) && !file.includes('node_modules') && !/\.test\.ts$/.test(file))
        .map((file) => join(workspace.dir, file));
      const used = new Set(files.flatMap(imported).filter((name) => name !== workspace.name));
      const declared = new Set([...Object.keys(workspace.dependencies), ...Object.keys(workspace.devDependencies)]);
      for (const name of used) if (!declared.has(name)) problems.push(`${workspace.name} imports ${name} without declaring it`);
      // @types/x is used where x is (@types/scope__name for @scope/name).
      const typed = (name: string) => (name.startsWith('@types/') ? name.slice(7).replace(/^(.+)__(.+)$/, '@$1/$2') : name);
      for (const name of declared) if (!used.has(typed(name))) problems.push(`${workspace.name} declares ${name} but never imports ${typed(name)}`);
    }
    expect(problems).toEqual([]);
  });

  it('the walk fails loudly on what it cannot resolve (so it cannot pass by seeing nothing)', () => {
    expect(() => workspaceFile('@commerce/platform/no-such-module')).toThrow(/does not export/);
    expect(specifiers(join(ROOT, 'gateway', 'src', 'server.ts')).length).toBeGreaterThan(10);
  });
});
