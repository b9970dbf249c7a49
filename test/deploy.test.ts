// The deployment files, kept honest without Docker or a cluster: the Dockerfile, docker-compose.yml
// with .env.example and HAProxy's config, and the Kustomize manifests under deploy/k8s are read
// and checked against what the code says: the build's entries (scripts/build.ts), the services'
// default ports and health paths, and their config schemas (every variable set anywhere must be
// one the receiving service reads, with a value it accepts). compiled.e2e runs what the build
// writes; this file checks that these files name it right. The same holds for what `npm run
// stack` generates (its HAProxy config, its services' environments); scale-out.e2e runs it.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SUBGRAPHS, type SubgraphName } from '@commerce/db/sql-runner';
import { identityPrivateKey, identityPublicKey } from '@commerce/platform/identity';
import { SHUTDOWN_TIMEOUT_DEFAULT_MS } from '@commerce/platform/shutdown';
import { Namespace, Secret, ConfigMap, Service } from 'kubernetes-models/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Job } from 'kubernetes-models/batch/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { type Entry, ENTRIES, entryFile, SERVICES } from '../scripts/build.js';
import { DEFAULT_PORTS as HEALTHCHECK_PORTS, HEALTH_PATH } from '../scripts/healthcheck.js';
import {
  baseWithoutKustomize,
  containerEnvironment,
  dockerfile,
  dotenv,
  entryOf,
  environmentProblems,
  execForm,
  haproxy,
  interpolate,
  type K8sObject,
  KUBECTL,
  kustomize,
  read,
  resourceField,
  SERVICE_PORTS,
} from './support/deploy-files.js';
import { ROOT } from '@commerce/harness/processes';
import { gatewayConfig } from '@commerce/gateway/config';
import { haproxyBinary, haproxyConfig, RETRY_POLICY } from '@commerce/harness/haproxy';
import { generateKeys } from '@commerce/harness/keys';
import { haproxyLayout, POOL_SIZE_MAX, POOL_HEADROOM, stackEnvironment, stackLayout } from '@commerce/harness/stack';

const ENTRY_FILES = new Set((Object.keys(ENTRIES) as Entry[]).map(entryFile));
const MAX_CONNECTIONS = 100;
/** PostgreSQL's superuser_reserved_connections default: not for the application. */
const RESERVED_CONNECTIONS = 3;

describe('Dockerfile', () => {
  const { instructions, args } = dockerfile(read('Dockerfile'));
  const stages = [...new Set(instructions.map((instruction) => instruction.stage))];
  const final = stages.at(-1)!;
  const inStage = (stage: string, keyword: string) => instructions.filter((instruction) => instruction.stage === stage && instruction.keyword === keyword);
  const runs = (stage: string) => inStage(stage, 'RUN').map((instruction) => instruction.args).join(' && ');
  const one = (keyword: string) => {
    const found = inStage(final, keyword);
    expect(found, keyword).toHaveLength(1);
    return found[0]!.args;
  };

  it('builds in stages from the slim Node 20 image', () => {
    const bases = instructions.filter((instruction) => instruction.keyword === 'FROM').map((instruction) => instruction.args.split(' ')[0]!.replace(/^\$\{(\w+)\}$/, (_, name: string) => args[name] ?? name));
    expect(stages.length).toBeGreaterThanOrEqual(2);
    // Each FROM is the base image or an earlier stage.
    for (const base of bases) expect(base === 'node:20-bookworm-slim' || stages.includes(base), base).toBe(true);
    expect(bases).toContain('node:20-bookworm-slim');
  });

  it('the build stage installs everything, generates and builds; the runtime stage installs production dependencies only and copies dist/', () => {
    const build = stages.find((stage) => /npm run build/.test(runs(stage)))!;
    expect(build).toBeDefined();
    expect(runs(build)).toMatch(/npm ci\b(?![^&]*--omit=dev)/);
    expect(runs(build)).toMatch(/npm run generate[^&]*&& npm run build|npm run generate.*npm run build/);
    expect(build).not.toBe(final);
    expect(runs(final)).toMatch(/npm ci [^&]*--omit=dev/);
    expect(runs(final)).not.toMatch(/npm run (build|generate)/);
    const copies = inStage(final, 'COPY').map((instruction) => instruction.args);
    expect(copies).toContain(`--from=${build} /app/dist ./dist`);
    // Nothing from the sources in the runtime stage: only manifests (for npm ci) and the build.
    expect(copies.filter((copy) => !copy.startsWith('--from='))).toEqual([]);
  });

  it("copies every workspace's package.json before npm ci (npm ci fails without one)", () => {
    const workspaces = (JSON.parse(read('package.json')) as { workspaces: string[] }).workspaces.flatMap((pattern) =>
      pattern.endsWith('/*') ? readdirSync(join(ROOT, pattern.slice(0, -2))).map((name) => `${pattern.slice(0, -2)}/${name}`) : [pattern],
    );
    const manifests = workspaces.filter((dir) => existsSync(join(ROOT, dir, 'package.json')));
    const copied = instructions.filter((instruction) => instruction.keyword === 'COPY' && !instruction.args.startsWith('--from')).map((instruction) => instruction.args);
    for (const dir of manifests) expect(copied, dir).toContain(`${dir}/package.json ${dir}/`);
    expect(copied).toContain('package.json package-lock.json ./');
  });

  it('runs as a non-root user under tini, with a HEALTHCHECK on /health and the gateway as its default command', () => {
    const user = one('USER');
    expect(['root', '0']).not.toContain(user.split(':')[0]);
    expect(execForm(one('ENTRYPOINT'))).toEqual(['/usr/bin/tini', '--']);
    const healthcheck = one('HEALTHCHECK');
    const check = execForm(healthcheck.replace(/^.*?\bCMD\s+/, ''));
    expect(entryOf(check)).toBe('healthcheck');
    expect(HEALTH_PATH).toBe('/health');
    expect(entryOf(execForm(one('CMD')))).toBe('gateway');
  });

  it('every command it names is an entry of the build, and it exposes exactly the services\' default ports', () => {
    for (const instruction of inStage(final, 'CMD').concat(inStage(final, 'HEALTHCHECK'))) {
      const command = execForm(instruction.args.replace(/^.*?\bCMD\s+/, ''));
      expect(ENTRY_FILES.has(command[1]!), command.join(' ')).toBe(true);
    }
    const exposed = one('EXPOSE').split(' ').map(Number).sort();
    expect(exposed).toEqual(Object.values(SERVICE_PORTS).sort());
    // The healthcheck, which must not parse the configs to know them, tries the same ports.
    expect([...HEALTHCHECK_PORTS].sort()).toEqual(exposed);
  });

  it('sets only variables the services or Node read, with values they accept', () => {
    const env = Object.fromEntries(inStage(final, 'ENV').flatMap((instruction) => instruction.args.split(' ').map((pair) => pair.split('=') as [string, string])));
    expect(env.NODE_ENV).toBe('production');
    // Production needs keys; give the example ones, so only the image's own variables are judged.
    const keys = dotenv(read('.env.example'));
    for (const entry of SERVICES) {
      const secrets: Record<string, string> = entry === 'gateway' ? { JWT_SECRET: keys.JWT_SECRET!, IDENTITY_PRIVATE_KEY: keys.IDENTITY_PRIVATE_KEY! } : { IDENTITY_PUBLIC_KEY: keys.IDENTITY_PUBLIC_KEY! };
      expect(environmentProblems(entry, { ...env, ...secrets }), entry).toEqual([]);
    }
  });

  it('.dockerignore keeps dependencies, build output and local data out of the build context', () => {
    const ignored = read('.dockerignore').split('\n').map((line) => line.trim());
    for (const path of ['**/node_modules', 'dist', '.data', '**/src/generated', '.git']) expect(ignored, path).toContain(path);
  });
});

describe('docker-compose.yml', () => {
  const compose = parseYaml(read('docker-compose.yml'), { merge: true }) as { services: Record<string, any> };
  const values = dotenv(read('.env.example'));
  const services = compose.services;
  const apps = Object.entries(services).filter(([, service]) => service.image === 'commerce-graph:latest');
  const entryOfService = (name: string) => entryOf(services[name].command as string[]);
  /** A service's environment as `docker compose` would pass it, with .env.example as .env. */
  const environment = (service: any): { env: Record<string, string>; used: string[] } => {
    const used: string[] = [];
    const env = Object.fromEntries(
      Object.entries((service.environment ?? {}) as Record<string, unknown>).map(([key, raw]) => {
        const { value, used: read } = interpolate(String(raw), values);
        used.push(...read);
        return [key, value];
      }),
    );
    return { env, used };
  };
  const lb = haproxy(read('deploy/haproxy/compose.cfg'));
  /** The service and port a URL's balancer frontend sends to. */
  const behind = (url: string): { host: string; port: number } | undefined => {
    const { hostname, port } = new URL(url);
    if (hostname !== 'lb') return undefined;
    const frontend = [...lb.frontends.values()].find((candidate) => candidate.port === Number(port));
    const servers = frontend ? lb.backends.get(frontend.backend) ?? [] : [];
    expect(servers.length, url).toBeGreaterThan(0);
    expect(new Set(servers.map((server) => `${server.host}:${server.port}`)).size, url).toBe(1);
    return servers[0];
  };

  it('runs postgres, redis, a one-shot migrate, users/products/orders and the gateway twice each, and HAProxy', () => {
    expect(Object.keys(services)).toEqual(expect.arrayContaining(['postgres', 'redis', 'migrate', 'users', 'products', 'orders', 'gateway', 'lb']));
    for (const name of ['users', 'products', 'orders', 'gateway']) {
      expect(entryOfService(name), name).toBe(name);
      expect(services[name].deploy?.replicas, name).toBe(2);
    }
    expect(services.migrate.command).toEqual(['node', entryFile('db'), 'migrate']);
    expect(services.migrate.restart).toBe('no');
    // Seeding only when asked for: a profile `up` does not start.
    expect(services.seed?.command).toEqual(['node', entryFile('db'), 'seed']);
    expect(services.seed?.profiles).toEqual(['seed']);
  });

  it('every app service runs an entry of the build, gets Docker a grace period longer than its shutdown timeout, and waits for what it needs', () => {
    for (const [name, service] of apps) {
      expect(ENTRY_FILES.has((service.command as string[])[1]!), name).toBe(true);
      const grace = /^(\d+)s$/.exec(String(service.stop_grace_period))?.[1];
      const timeout = Number(environment(service).env.SHUTDOWN_TIMEOUT_MS ?? SHUTDOWN_TIMEOUT_DEFAULT_MS);
      expect(Number(grace) * 1000, name).toBeGreaterThan(timeout);
    }
    for (const [name, service] of Object.entries(services)) {
      for (const [dependency, condition] of Object.entries((service.depends_on ?? {}) as Record<string, { condition?: string }>)) {
        expect(services[dependency], `${name} -> ${dependency}`).toBeDefined();
        expect(['service_healthy', 'service_completed_successfully'], `${name} -> ${dependency}`).toContain(condition.condition);
        // service_healthy needs a health check: the service's own, or the image's HEALTHCHECK.
        if (condition.condition === 'service_healthy') expect(services[dependency].healthcheck !== undefined || services[dependency].image === 'commerce-graph:latest', dependency).toBe(true);
      }
    }
    for (const name of SUBGRAPHS) expect(services[name].depends_on.migrate.condition).toBe('service_completed_successfully');
    expect(services.migrate.depends_on.postgres.condition).toBe('service_healthy');
  });

  it('every variable a service gets is one its config schema reads, with a value it accepts (.env.example standing in for .env)', () => {
    for (const [name, service] of apps) {
      const entry = entryOfService(name)!;
      expect(environmentProblems(entry, environment(service).env), name).toEqual([]);
    }
    // PostgreSQL's image reads its own variables.
    expect(Object.keys(environment(services.postgres).env).sort()).toEqual(['POSTGRES_DB', 'POSTGRES_PASSWORD', 'POSTGRES_USER']);
  });

  it('every key of .env.example reaches a service, and every variable compose interpolates is in .env.example or has a default', () => {
    const used = new Set(Object.values(services).flatMap((service) => environment(service).used));
    expect(Object.keys(values).filter((key) => !used.has(key))).toEqual([]);
    const text = read('docker-compose.yml');
    const required = [...text.matchAll(/\$\{([A-Z_][A-Z0-9_]*)(:?\?[^}]*)?\}/g)].map((match) => match[1]!);
    expect(required.filter((key) => values[key] === undefined)).toEqual([]);
  });

  it('the example keys are a pair: what the gateway signs, the subgraphs verify', () => {
    const gatewayKey = identityPrivateKey(environment(services.gateway).env.IDENTITY_PRIVATE_KEY!);
    for (const name of SUBGRAPHS) {
      const publicKey = identityPublicKey(environment(services[name]).env.IDENTITY_PUBLIC_KEY!);
      expect(publicKey.export({ format: 'pem', type: 'spki' })).toEqual(identityPublicKey(gatewayKey.export({ format: 'pem', type: 'pkcs8' }).toString()).export({ format: 'pem', type: 'spki' }));
    }
  });

  it("SUBGRAPH_URL_* and PRODUCTS_URL point at HAProxy's frontends for the subgraphs' replicas, on the ports they listen on", () => {
    const gateway = environment(services.gateway).env;
    for (const name of SUBGRAPHS) {
      const url = gateway[`SUBGRAPH_URL_${name.toUpperCase()}`];
      expect(url, name).toBeDefined();
      expect(behind(url!), name).toEqual({ host: name, port: SERVICE_PORTS[name] });
      expect(new URL(url!).pathname).toBe('/graphql');
    }
    expect(behind(environment(services.orders).env.PRODUCTS_URL!)).toEqual({ host: 'products', port: SERVICE_PORTS.products });
  });

  it("HAProxy serves :4000 in front of the gateways, health-checks every backend on /ready, and retries a replica's failure on another", () => {
    const front = [...lb.frontends.values()].find((frontend) => frontend.port === 4000)!;
    expect(lb.backends.get(front.backend)).toEqual([{ host: 'gateway', port: SERVICE_PORTS.gateway }]);
    expect(services.lb.ports).toContain('4000:4000');
    expect(lb.defaults).toContain('option httpchk GET /ready');
    expect(lb.defaults).toContain('http-check expect status 200');
    expect(lb.defaults.find((line) => line.startsWith('default-server'))).toMatch(/\bcheck\b/);
    expect(lb.defaults).toContain('option http-buffer-request');
    expect(lb.defaults.find((line) => line.startsWith('retry-on'))).toMatch(/conn-failure/);
    // Every backend's servers are a compose service, on the port that service listens on.
    for (const servers of lb.backends.values()) for (const server of servers) expect(SERVICE_PORTS[server.host as SubgraphName | 'gateway'], server.host).toBe(server.port);
    expect(services.lb.volumes).toContain('./deploy/haproxy/compose.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro');
  });

  it.runIf(existsSync('/usr/sbin/haproxy'))('HAProxy accepts its config (haproxy -c)', () => {
    expect(execFileSync('/usr/sbin/haproxy', ['-c', '-f', join(ROOT, 'deploy/haproxy/compose.cfg')], { encoding: 'utf8' })).toContain('valid');
  });

  it("the subgraphs' pools fit PostgreSQL's max_connections, with the migration job's connection", () => {
    // Each process has one pool on the primary and one on the replica (another server, also 100).
    expect(services.postgres.command.slice(0, 3)).toEqual(['postgres', '-c', `max_connections=${MAX_CONNECTIONS}`]);
    expect(services.postgres.command).toContain('wal_level=replica');
    const pools = SUBGRAPHS.map((name) => services[name].deploy.replicas * Number(environment(services[name]).env.DATABASE_POOL_SIZE));
    expect(pools.reduce((sum, pool) => sum + pool, 0) + 1).toBeLessThanOrEqual(MAX_CONNECTIONS - RESERVED_CONNECTIONS);
  });
});

describe('deploy/k8s (Kustomize)', () => {
  const MODELS: Record<string, new (data: any) => { validate(): void }> = {
    'apps/v1/Deployment': Deployment,
    'v1/Service': Service,
    'v1/ConfigMap': ConfigMap,
    'v1/Secret': Secret,
    'v1/Namespace': Namespace,
    'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
    'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
    'batch/v1/Job': Job,
  };
  const renders: Array<[string, () => K8sObject[]]> = KUBECTL
    ? [
        ['base', () => kustomize('deploy/k8s/base')],
        ['overlays/example', () => kustomize('deploy/k8s/overlays/example')],
      ]
    : [['base (without kubectl: its files and generators read directly)', () => baseWithoutKustomize('deploy/k8s/base')]];
  if (!KUBECTL && process.env.CI) console.warn('kubectl not found: the overlay is not rendered, only the base read directly');

  describe.each(renders)('%s', (_, render) => {
    const objects = render();
    const ofKind = (kind: string) => objects.filter((object) => object.kind === kind);
    const deployments = ofKind('Deployment');
    const named = (kind: string, name: string) => ofKind(kind).find((object) => object.metadata.name === name);
    const labelsMatch = (selector: Record<string, string>, labels: Record<string, string>) => Object.entries(selector).every(([key, value]) => labels[key] === value);

    it('every object is valid against the Kubernetes schema of its kind', () => {
      expect(objects.length).toBeGreaterThan(10);
      for (const object of objects) {
        const model = MODELS[`${object.apiVersion}/${object.kind}`];
        expect(model, `${object.apiVersion} ${object.kind}`).toBeDefined();
        // Kustomize wraps long base64 values in Secrets over several lines, which the API server's
        // decoder ignores and the schema's "byte" format does not: join them as the server does.
        const data = object.kind === 'Secret' ? { ...object, data: Object.fromEntries(Object.entries(object.data ?? {}).map(([key, value]) => [key, String(value).replace(/\n/g, '')])) } : object;
        expect(() => new model!(data).validate(), `${object.kind} ${object.metadata.name}`).not.toThrow();
      }
    });

    it('a Deployment, Service, HPA on CPU and PodDisruptionBudget for the gateway and each subgraph', () => {
      expect(deployments.map((deployment) => entryOf(deployment.spec.template.spec.containers[0].args)).sort()).toEqual([...SERVICES].sort());
      for (const deployment of deployments) {
        const name = deployment.metadata.name;
        const labels = deployment.spec.template.metadata.labels;
        expect(labelsMatch(deployment.spec.selector.matchLabels, labels), name).toBe(true);
        const service = named('Service', name)!;
        expect(labelsMatch(service.spec.selector, labels), `Service ${name}`).toBe(true);
        const hpa = named('HorizontalPodAutoscaler', name)!;
        expect(hpa.apiVersion).toBe('autoscaling/v2');
        expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name });
        expect(hpa.spec.metrics).toEqual([{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: expect.any(Number) } } }]);
        expect(hpa.spec.minReplicas, name).toBeGreaterThanOrEqual(2);
        const pdb = ofKind('PodDisruptionBudget').find((candidate) => labelsMatch(candidate.spec.selector.matchLabels, labels))!;
        expect(pdb, `PodDisruptionBudget for ${name}`).toBeDefined();
        // A disruption may take a pod only while another one serves.
        expect(pdb.spec.minAvailable).toBeLessThan(hpa.spec.minReplicas);
      }
    });

    it('each container runs its entry under the image\'s tini, listens on its default port, and is probed on /ready (readiness) and /health (liveness)', () => {
      for (const deployment of deployments) {
        const [container, ...others] = deployment.spec.template.spec.containers;
        expect(others).toEqual([]);
        expect(container.command, 'command would replace the ENTRYPOINT (tini)').toBeUndefined();
        const entry = entryOf(container.args) as (typeof SERVICES)[number];
        expect(entry).toBe(deployment.metadata.name);
        const port = container.ports.find((candidate: { name: string }) => candidate.name === 'http');
        expect(port.containerPort).toBe(SERVICE_PORTS[entry]);
        expect(container.readinessProbe.httpGet).toEqual({ path: '/ready', port: 'http' });
        expect(container.livenessProbe.httpGet).toEqual({ path: '/health', port: 'http' });
        const service = named('Service', deployment.metadata.name)!;
        expect(service.spec.ports).toEqual([expect.objectContaining({ port: SERVICE_PORTS[entry], targetPort: 'http' })]);
        for (const kind of ['requests', 'limits']) for (const resource of ['cpu', 'memory']) expect(container.resources?.[kind]?.[resource], `${entry} ${kind}.${resource}`).toBeDefined();
      }
    });

    it('preStop waits, then the service drains: the grace period is longer than preStop plus SHUTDOWN_TIMEOUT_MS', () => {
      for (const deployment of deployments) {
        const pod = deployment.spec.template.spec;
        const container = pod.containers[0];
        const sleep = container.lifecycle.preStop.exec.command;
        expect(sleep[0]).toBe('sleep');
        const timeout = Number(containerEnvironment(container, objects).SHUTDOWN_TIMEOUT_MS ?? SHUTDOWN_TIMEOUT_DEFAULT_MS);
        expect(pod.terminationGracePeriodSeconds * 1000, deployment.metadata.name).toBeGreaterThan(Number(sleep[1]) * 1000 + timeout);
      }
    });

    it('every variable a container gets (env and envFrom, ConfigMaps and Secrets) is one its config schema reads, with a value it accepts', () => {
      const containers = [...deployments, ...ofKind('Job')].map((owner) => ({ owner: owner.metadata.name, container: owner.spec.template.spec.containers[0] }));
      for (const { owner, container } of containers) {
        const entry = entryOf(container.args)!;
        expect(entry, owner).not.toBeNull();
        expect(environmentProblems(entry, containerEnvironment(container, objects)), owner).toEqual([]);
      }
      // Which also means: no Secret or ConfigMap key reaches a container that does not read it.
      const gateway = containerEnvironment(named('Deployment', 'gateway')!.spec.template.spec.containers[0], objects);
      for (const name of SUBGRAPHS) expect(new URL(gateway[`SUBGRAPH_URL_${name.toUpperCase()}`]!).port).toBe(String(SERVICE_PORTS[name]));
    });

    it('the gateway runs one worker per core of its CPU limit, on the Redis its workers share', () => {
      const container = named('Deployment', 'gateway')!.spec.template.spec.containers[0];
      expect(container.env.find((variable: any) => variable.name === 'GATEWAY_WORKERS')?.valueFrom?.resourceFieldRef).toMatchObject({ resource: 'limits.cpu' });
      const env = containerEnvironment(container, objects);
      const cpu = String(container.resources.limits.cpu);
      expect(env.GATEWAY_WORKERS).toBe(String(Math.ceil(cpu.endsWith('m') ? Number(cpu.slice(0, -1)) / 1000 : Number(cpu))));
      // As the kubelet rounds: a limit of 1500m gives 2 workers, 250m one.
      expect(resourceField({ name: 'gateway', resources: { limits: { cpu: '1500m' } } }, { resource: 'limits.cpu' })).toBe('2');
      expect(resourceField({ name: 'gateway', resources: { limits: { cpu: '250m' } } }, { resource: 'limits.cpu' })).toBe('1');
      expect(env.REDIS_URL).toBeTruthy();
      expect(gatewayConfig(env, ROOT).workers).toBe(Number(env.GATEWAY_WORKERS));
    });

    it('a migration Job runs the build\'s migrate tool and only that', () => {
      const [job, ...others] = ofKind('Job');
      expect(others).toEqual([]);
      const container = job!.spec.template.spec.containers[0];
      expect(container.args).toEqual(['node', entryFile('db'), 'migrate']);
      expect(job!.spec.template.spec.restartPolicy).toBe('Never');
    });

    it("the subgraphs' pools at their HPAs' maximum, a rollout's surge included, with the Job's connection, fit max_connections", () => {
      const connections = deployments
        .filter((deployment) => deployment.metadata.name !== 'gateway')
        .map((deployment) => {
          const pods = named('HorizontalPodAutoscaler', deployment.metadata.name)!.spec.maxReplicas + Number(deployment.spec.strategy.rollingUpdate.maxSurge);
          return pods * Number(containerEnvironment(deployment.spec.template.spec.containers[0], objects).DATABASE_POOL_SIZE);
        });
      expect(connections.reduce((sum, pool) => sum + pool, 0) + 1).toBeLessThanOrEqual(MAX_CONNECTIONS - RESERVED_CONNECTIONS);
    });

    it('the Secrets hold example values only (public: they are in the repository)', () => {
      for (const secret of ofKind('Secret')) {
        for (const [key, value] of Object.entries(secret.data as Record<string, string>)) {
          const text = Buffer.from(value, 'base64').toString('utf8');
          const example = /example/i.test(text) || dotenv(read('.env.example'))[key] === text;
          expect(example, `${secret.metadata.name} ${key}`).toBe(true);
        }
      }
    });
  });
});

describe('npm run stack (the HAProxy config and environments the harness generates)', () => {
  const layout = stackLayout();
  const text = haproxyConfig(haproxyLayout(layout));
  const lb = haproxy(text);
  const compose = haproxy(read('deploy/haproxy/compose.cfg'));

  it('HAProxy: :4000 in front of the gateway replicas, each subgraph\'s replicas behind the port compose gives it, stats on :8404', () => {
    const frontendOn = (config: typeof lb, port: number) => [...config.frontends.values()].find((frontend) => frontend.port === port);
    expect(lb.backends.get(frontendOn(lb, 4000)!.backend)).toEqual([
      { host: '127.0.0.1', port: 4010 },
      { host: '127.0.0.1', port: 4011 },
    ]);
    for (const name of SUBGRAPHS) {
      // compose's frontend for this service, and the stack's on the same port, in front of this service's replicas.
      const port = [...compose.frontends.values()].find((frontend) => compose.backends.get(frontend.backend)?.[0]?.host === name)!.port;
      expect(layout.frontends[name], name).toBe(port);
      const servers = lb.backends.get(frontendOn(lb, port)!.backend)!;
      expect(servers.map((server) => server.port), name).toEqual(layout.replicas.filter((replica) => replica.service === name).map((replica) => replica.port));
      expect(servers, name).toHaveLength(2);
    }
    expect(text).toMatch(/listen stats\n {2}bind 127\.0\.0\.1:8404\n[\s\S]*stats uri \/stats/);
    // Every port distinct: one variable (STACK_PORT) moves them all.
    const ports = [layout.port, layout.statsPort, ...Object.values(layout.frontends), ...layout.replicas.map((replica) => replica.port)];
    expect(new Set(ports).size).toBe(ports.length);
  });

  it("HAProxy: the retry and readiness policy is compose.cfg's, line for line (L7 retries of buffered requests, redispatched; checks on /ready)", () => {
    for (const line of RETRY_POLICY) {
      expect(lb.defaults, line).toContain(line);
      expect(compose.defaults, `compose.cfg: ${line}`).toContain(line);
    }
    expect(lb.defaults.find((line) => line.startsWith('default-server'))).toMatch(/\bcheck\b/);
  });

  it.runIf(haproxyBinary())('HAProxy accepts the generated config (haproxy -c)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stack-cfg-'));
    try {
      writeFileSync(join(dir, 'haproxy.cfg'), text);
      expect(execFileSync(haproxyBinary()!, ['-c', '-f', join(dir, 'haproxy.cfg')], { encoding: 'utf8' })).toContain('valid');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('every variable the stack gives a service is one its config schema reads, with a value it accepts', () => {
    const env = stackEnvironment({ layout, keys: generateKeys(), databaseUrl: 'postgresql://postgres@127.0.0.1:5432/commerce_stack', redisUrl: 'redis://127.0.0.1:6379', prefix: 'stack', poolSize: POOL_SIZE_MAX });
    const port = (name: string) => String(layout.replicas.find((replica) => replica.name === name)!.port);
    expect(environmentProblems('gateway', { ...env.gateway, PORT: port('gateway-1') })).toEqual([]);
    for (const name of SUBGRAPHS) expect(environmentProblems(name, { ...env.subgraph, PORT: port(`${name}-1`) }), name).toEqual([]);
    expect(environmentProblems('db', env.subgraph)).toEqual([]);
    // The gateways reach the subgraphs, and orders reaches products, through HAProxy's frontends.
    for (const name of SUBGRAPHS) expect(new URL(env.gateway[`SUBGRAPH_URL_${name.toUpperCase()}`]!).port, name).toBe(String(layout.frontends[name]));
    expect(new URL(env.subgraph.PRODUCTS_URL!).port).toBe(String(layout.frontends.products));
  });

  it("the pools' largest plan fits max_connections with the planner's headroom", () => {
    const subgraphReplicas = layout.replicas.filter((replica) => replica.service !== 'gateway').length;
    expect(subgraphReplicas * POOL_SIZE_MAX + POOL_HEADROOM).toBeLessThanOrEqual(MAX_CONNECTIONS - RESERVED_CONNECTIONS);
  });
});
