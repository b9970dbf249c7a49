// Readers for the deployment files (Dockerfile, docker-compose.yml and .env, HAProxy's config,
// Kustomize output) and the one check they share: an environment a service receives, held to that
// service's config schema. For test/deploy.test.ts; no Docker, no cluster.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SUBGRAPH_URL_VARIABLE, gatewayConfig, gatewayEnvSchema } from '@commerce/gateway/config';
import { SUBGRAPHS, type SubgraphName } from '@commerce/db/sql-runner';
import { ConfigError, unknownVariables } from '@commerce/platform/env';
import { DEFAULT_PORTS, subgraphConfig, subgraphEnvSchema } from '@commerce/subgraph-kit/config';
import { parseAllDocuments } from 'yaml';
import { type Entry, ENTRIES, entryFile } from '../../scripts/build.js';
import { ROOT } from '@commerce/harness/processes';

export const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');

// ---------------------------------------------------------------------------------------------
// What runs where: a command line names a build entry, the entry a config schema.

/** The build entry a command runs (`node [flags] dist/<entry>/index.js ...`), or null. */
export function entryOf(command: readonly string[]): Entry | null {
  const file = command.find((part) => part.startsWith('dist/'));
  const entry = (Object.keys(ENTRIES) as Entry[]).find((name) => entryFile(name) === file);
  return command[0] === 'node' && entry ? entry : null;
}

/** Default port of each service, from the configs themselves. */
export const SERVICE_PORTS: Record<'gateway' | SubgraphName, number> = {
  gateway: gatewayConfig({}).port,
  ...DEFAULT_PORTS,
};

/** Variables Node itself reads (not the services' configs), allowed beside them. */
const NODE_VARIABLES = ['NODE_OPTIONS'];

/**
 * Every problem with `env` as the environment of `entry`: a variable its schema does not read,
 * a value it does not accept, a refinement it fails (production keys, the shutdown timeout). The
 * migrate tool (db) builds every subgraph's config, as scripts/db.ts does.
 */
export function environmentProblems(entry: Entry, env: Record<string, string>): string[] {
  const problems: string[] = [];
  const collect = (build: () => unknown) => {
    try {
      build();
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(...error.problems);
    }
  };
  const appEnv = Object.fromEntries(Object.entries(env).filter(([key]) => !NODE_VARIABLES.includes(key)));
  if (entry === 'gateway') {
    problems.push(...unknownVariables(gatewayEnvSchema, appEnv, [SUBGRAPH_URL_VARIABLE]).map((key) => `${key}: the gateway reads no such variable`));
    // SUBGRAPH_URL_<NAME>: NAME must be a graph of the supergraph.
    for (const key of Object.keys(appEnv)) {
      const name = SUBGRAPH_URL_VARIABLE.exec(key)?.[1];
      if (name && !SUBGRAPHS.map((graph) => graph.toUpperCase()).includes(name)) problems.push(`${key}: the supergraph has no graph ${name}`);
    }
    collect(() => gatewayConfig(appEnv, ROOT));
  } else if (entry === 'users' || entry === 'products' || entry === 'orders' || entry === 'db') {
    problems.push(...unknownVariables(subgraphEnvSchema, appEnv).map((key) => `${key}: a subgraph reads no such variable`));
    for (const name of entry === 'db' ? SUBGRAPHS : [entry]) collect(() => subgraphConfig(name, appEnv, ROOT));
  } else {
    problems.push(`${entry}: not a service`);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Dockerfile

export interface Instruction {
  keyword: string;
  args: string;
  stage: string;
}

/** The Dockerfile's instructions (continuations joined, comments dropped), each with the stage it is in. */
export function dockerfile(text: string): { instructions: Instruction[]; args: Record<string, string> } {
  const lines = text.replace(/\\\n/g, ' ').split('\n').map((line) => line.trim()).filter((line) => line && !line.startsWith('#'));
  const args: Record<string, string> = {};
  const instructions: Instruction[] = [];
  let stage = '';
  for (const line of lines) {
    const [, keyword = '', rest = ''] = /^(\w+)\s+(.*)$/.exec(line) ?? [];
    const upper = keyword.toUpperCase();
    if (upper === 'ARG' && stage === '') {
      const [name, value = ''] = rest.split('=');
      args[name!.trim()] = value.trim();
    }
    if (upper === 'FROM') stage = /\bAS\s+(\S+)/i.exec(rest)?.[1] ?? `stage${instructions.length}`;
    instructions.push({ keyword: upper, args: rest.replace(/\s+/g, ' ').trim(), stage });
  }
  return { instructions, args };
}

/** An exec-form argument list (`["node", "x"]`), or the words of a shell form. */
export const execForm = (text: string): string[] => (text.trim().startsWith('[') ? (JSON.parse(text) as string[]) : text.trim().split(/\s+/));

// ---------------------------------------------------------------------------------------------
// .env and compose interpolation

/** KEY=VALUE lines of a dotenv file (comments and blank lines skipped; no quoting used here). */
export function dotenv(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^\s*([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (match) values[match[1]!] = match[2]!;
  }
  return values;
}

/**
 * Compose's interpolation: ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error},
 * $$ for a literal $. Returns the value and the variables it read; a required variable that is
 * missing throws, as `docker compose` would.
 */
export function interpolate(text: string, values: Record<string, string>): { value: string; used: string[] } {
  const used: string[] = [];
  const value = text.replace(/\$\$|\$\{([A-Z_][A-Z0-9_]*)(?:(:?)([-?])([^}]*))?\}/g, (whole, name: string | undefined, colon: string, operator: string, word: string) => {
    if (whole === '$$') return '$';
    used.push(name!);
    const present = values[name!] !== undefined && (colon !== ':' || values[name!] !== '');
    if (present) return values[name!]!;
    if (operator === '?') throw new Error(`${name} is required: ${word}`);
    return operator === '-' ? word : '';
  });
  return { value, used };
}

// ---------------------------------------------------------------------------------------------
// HAProxy

export interface HaproxyConfig {
  /** Frontend name to its bind port and default backend. */
  frontends: Map<string, { port: number; backend: string }>;
  /** Backend name to the servers it lists (host:port). */
  backends: Map<string, Array<{ host: string; port: number }>>;
  /** Every line of `defaults`. */
  defaults: string[];
}

export function haproxy(text: string): HaproxyConfig {
  const config: HaproxyConfig = { frontends: new Map(), backends: new Map(), defaults: [] };
  let section: { kind: string; name: string } = { kind: '', name: '' };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) continue;
    const words = line.split(/\s+/);
    if (/^\S/.test(raw)) {
      section = { kind: words[0]!, name: words[1] ?? '' };
      if (section.kind === 'frontend') config.frontends.set(section.name, { port: 0, backend: '' });
      if (section.kind === 'backend') config.backends.set(section.name, []);
      continue;
    }
    if (section.kind === 'defaults') config.defaults.push(line);
    if (section.kind === 'frontend') {
      const frontend = config.frontends.get(section.name)!;
      if (words[0] === 'bind') frontend.port = Number(words[1]!.split(':').at(-1));
      if (words[0] === 'default_backend') frontend.backend = words[1]!;
    }
    if (section.kind === 'backend' && (words[0] === 'server' || words[0] === 'server-template')) {
      const address = words[0] === 'server' ? words[2]! : words[3]!;
      const [host, port] = address.split(':');
      config.backends.get(section.name)!.push({ host: host!, port: Number(port) });
    }
  }
  return config;
}

// ---------------------------------------------------------------------------------------------
// Kubernetes

export type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; [key: string]: any };

export const KUBECTL = ['/usr/bin/kubectl', '/usr/local/bin/kubectl'].find((path) => existsSync(path)) ?? null;

/** `kubectl kustomize <dir>`: the objects it renders. */
export function kustomize(dir: string): K8sObject[] {
  if (!KUBECTL) throw new Error('kubectl is not installed');
  const text = execFileSync(KUBECTL, ['kustomize', join(ROOT, dir)], { encoding: 'utf8' });
  return parseAllDocuments(text).map((document) => document.toJS() as K8sObject).filter(Boolean);
}

/**
 * Without kubectl: the base's resource files as they are, plus its ConfigMaps and Secrets from
 * the generators' literals (names without kustomize's hash suffix). Enough for every check here
 * except the overlay's.
 */
export function baseWithoutKustomize(dir: string): K8sObject[] {
  const kustomization = parseAllDocuments(read(join(dir, 'kustomization.yaml')))[0]!.toJS() as {
    resources: string[];
    configMapGenerator?: Array<{ name: string; literals: string[] }>;
    secretGenerator?: Array<{ name: string; literals: string[] }>;
  };
  const objects = kustomization.resources.flatMap((file) => parseAllDocuments(read(join(dir, file))).map((document) => document.toJS() as K8sObject));
  const data = (literals: string[]) => Object.fromEntries(literals.map((literal) => [literal.slice(0, literal.indexOf('=')), literal.slice(literal.indexOf('=') + 1)]));
  for (const generator of kustomization.configMapGenerator ?? []) objects.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: generator.name }, data: data(generator.literals) });
  for (const generator of kustomization.secretGenerator ?? []) {
    const values = data(generator.literals);
    objects.push({ apiVersion: 'v1', kind: 'Secret', metadata: { name: generator.name }, type: 'Opaque', data: Object.fromEntries(Object.entries(values).map(([key, value]) => [key, Buffer.from(value).toString('base64')])) });
  }
  return objects;
}

/**
 * What the downward API gives for a container's resource (`limits.cpu` and the like): the quantity
 * divided by the divisor (default 1) and rounded up, as the kubelet does. Only CPU quantities here.
 */
export function resourceField(container: any, ref: { containerName?: string; resource: string; divisor?: string }): string {
  if (ref.containerName !== undefined && ref.containerName !== container.name) throw new Error(`${container.name}: resourceFieldRef names container ${ref.containerName}`);
  const [kind, name] = ref.resource.split('.') as ['limits' | 'requests', string];
  const quantity = container.resources?.[kind]?.[name];
  if (quantity === undefined) throw new Error(`${container.name}: no ${ref.resource} for the downward API to read`);
  const cores = (text: string) => (String(text).endsWith('m') ? Number(String(text).slice(0, -1)) / 1000 : Number(text));
  return String(Math.ceil(cores(quantity) / cores(ref.divisor ?? '1')));
}

/** The environment a container receives: env (values, ConfigMap, Secret keys and resource fields) over envFrom. */
export function containerEnvironment(container: any, objects: K8sObject[]): Record<string, string> {
  const find = (kind: string, name: string) => {
    const object = objects.find((candidate) => candidate.kind === kind && candidate.metadata.name === name);
    if (!object) throw new Error(`${container.name}: no ${kind} ${name}`);
    return kind === 'Secret' ? Object.fromEntries(Object.entries(object.data ?? {}).map(([key, value]) => [key, Buffer.from(String(value), 'base64').toString('utf8')])) : { ...(object.data ?? {}) };
  };
  const env: Record<string, string> = {};
  for (const source of container.envFrom ?? []) Object.assign(env, source.configMapRef ? find('ConfigMap', source.configMapRef.name) : find('Secret', source.secretRef.name));
  for (const variable of container.env ?? []) {
    if (variable.value !== undefined) env[variable.name] = String(variable.value);
    else if (variable.valueFrom?.configMapKeyRef) env[variable.name] = find('ConfigMap', variable.valueFrom.configMapKeyRef.name)[variable.valueFrom.configMapKeyRef.key]!;
    else if (variable.valueFrom?.secretKeyRef) env[variable.name] = find('Secret', variable.valueFrom.secretKeyRef.name)[variable.valueFrom.secretKeyRef.key]!;
    else if (variable.valueFrom?.resourceFieldRef) env[variable.name] = resourceField(container, variable.valueFrom.resourceFieldRef);
  }
  return env;
}
