// OpenTelemetry across separate processes (npm run start:*), exported over OTLP/HTTP to a local
// receiver: one gateway request is ONE trace holding the gateway's spans, each subgraph's server
// span (a child of the gateway's client span, across the HTTP hop) and Prisma's SQL spans under it.
// Without OTEL_EXPORTER_OTLP_ENDPOINT the services load none of the tracing code.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { postGraphQL } from './support/graph.js';
import { otlpReceiver, type ReceivedSpan, SPAN_KIND } from './support/otlp-receiver.js';
import { cloneDatabase } from './support/postgres.js';
import { type ProcessGraph, startProcessGraph, SUBGRAPH_NAMES } from '@commerce/harness/process-graph';
import { ROOT } from '@commerce/harness/processes';
import { valueOf } from './support/wait.js';

const template = inject('templateDatabase');
const redisUrl = inject('redisUrl');
const SUBGRAPHS = SUBGRAPH_NAMES;
const QUERY = 'query TracedOrders { me { name orders(first: 2) { edges { node { id items { quantity product { name } } } } } } }';
const PROBE = `--import ${join(ROOT, 'test', 'support', 'import-probe.mjs')}`;

describe.skipIf(!template)('tracing on: gateway → subgraphs → Prisma, one trace', () => {
  let receiver: Awaited<ReturnType<typeof otlpReceiver>>;
  let graph: ProcessGraph;
  let drop: () => Promise<void>;
  const probeDir = mkdtempSync(join(tmpdir(), 'import-probe-'));

  beforeAll(async () => {
    receiver = await otlpReceiver();
    const clone = await cloneDatabase(template as string);
    drop = clone.drop;
    graph = await startProcessGraph(clone.url, {
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_BSP_SCHEDULE_DELAY: '200', NODE_OPTIONS: PROBE, IMPORT_PROBE_FILE: join(probeDir, 'on.log') },
      // The response cache on, so repeated queries are hits (which must be traced too).
      gatewayEnv: redisUrl ? { REDIS_URL: redisUrl } : {},
    });
  });
  afterAll(async () => {
    await graph?.stop();
    await receiver?.close();
    await drop?.();
    rmSync(probeDir, { recursive: true, force: true });
  });

  it('one request: one trace with gateway, subgraph and SQL spans, linked parent to child across the HTTP hops', async () => {
    const requestId = `traced-${Date.now()}`;
    const token = await graph.tokenFor('alice@example.com');
    const result = await postGraphQL<any>(graph.gatewayUrl, QUERY, undefined, { authorization: `Bearer ${token}`, 'x-request-id': requestId });
    expect(result.status).toBe(200);
    expect(result.errors).toBeUndefined();
    expect(result.data?.me.orders.edges[0].node.items[0].product.name).toEqual(expect.any(String));

    // Every service exports its part on its own schedule: wait until all parts are in.
    const root = await valueOf('gateway server span', () => receiver.spans.find((s) => s.service === 'gateway' && s.kind === SPAN_KIND.server && s.attributes['request.id'] === requestId), 15_000, 100);
    const inTrace = () => receiver.spans.filter((s) => s.traceId === root.traceId);
    // SQL spans from every subgraph, and every span's parent: a span that ended last (a subgraph's
    // server span, after its SQL) may come in a later batch than its children.
    const spans = await vi.waitFor(
      () => {
        const all = inTrace();
        for (const name of SUBGRAPHS) expect(all.some((s) => s.service === name && s.name === 'prisma:client:db_query'), `SQL spans from ${name}`).toBe(true);
        const ids = new Set(all.map((s) => s.spanId));
        expect(all.filter((s) => s !== root && !ids.has(s.parentSpanId)).map((s) => `${s.service}:${s.name}`), 'spans whose parent is not in yet').toEqual([]);
        return all;
      },
      { timeout: 15_000, interval: 100 },
    );
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const ancestors = (span: ReceivedSpan): ReceivedSpan[] => {
      const chain: ReceivedSpan[] = [];
      for (let parent = byId.get(span.parentSpanId); parent; parent = byId.get(parent.parentSpanId)) chain.push(parent);
      return chain;
    };
    const summary = spans.map((s) => `${s.service}:${s.name}`).sort();
    console.log(`one request, one trace: ${spans.length} spans — ${[...new Set(summary)].map((n) => `${n} ×${summary.filter((x) => x === n).length}`).join(', ')}`);

    // ONE trace: every span carrying the request id is in it, and it has exactly one root (the gateway's).
    expect(new Set(receiver.spans.filter((s) => s.attributes['request.id'] === requestId).map((s) => s.traceId))).toEqual(new Set([root.traceId]));
    expect(root.parentSpanId).toBe('');
    expect(spans.filter((s) => s.parentSpanId === '')).toEqual([root]);
    // Connected: every other span's parent was exported in the same trace, so all lead to the root.
    for (const span of spans) if (span !== root) expect(ancestors(span).at(-1)).toBe(root);
    expect(root.attributes).toMatchObject({ 'http.request.method': 'POST', 'http.response.status_code': 200, 'graphql.operation.name': 'TracedOrders', 'graphql.operation.type': 'query' });
    expect(spans.some((s) => s.service === 'gateway' && s.name === 'gateway.plan')).toBe(true);

    for (const name of SUBGRAPHS) {
      // The HTTP hop: the subgraph's server span is a child of a gateway client span for that subgraph, under Apollo's gateway.fetch.
      const servers = spans.filter((s) => s.service === name && s.kind === SPAN_KIND.server);
      expect(servers.length).toBeGreaterThanOrEqual(1);
      for (const server of servers) {
        expect(server.attributes['request.id']).toBe(requestId);
        const client = byId.get(server.parentSpanId);
        expect(client).toMatchObject({ service: 'gateway', kind: SPAN_KIND.client, attributes: expect.objectContaining({ 'peer.service': name, 'http.response.status_code': 200, 'request.id': requestId }) });
        expect(ancestors(client!).some((s) => s.name === 'gateway.fetch' && s.attributes.service === name)).toBe(true);
      }
      // SQL: Prisma's db_query spans in that process, each under one of its server spans.
      const queries = spans.filter((s) => s.service === name && s.name === 'prisma:client:db_query');
      expect(queries.length).toBeGreaterThanOrEqual(1);
      for (const query of queries) {
        expect(String(query.attributes['db.query.text'])).toMatch(/^\s*(SELECT|WITH)\b/i);
        expect(ancestors(query).find((s) => s.kind === SPAN_KIND.server)?.service).toBe(name);
      }
    }
  });

  it.skipIf(!redisUrl)('repeated anonymous cache hits are traced too: the hit lane stays off while tracing is on', async () => {
    const ids: string[] = [];
    const answers = [];
    for (let i = 0; i < 4; i++) {
      const requestId = `hit-${Date.now()}-${i}`;
      ids.push(requestId);
      answers.push(await postGraphQL(graph.gatewayUrl, '{ products(first: 2) { totalCount } }', undefined, { 'x-request-id': requestId }));
    }
    expect(answers.slice(1).some((a) => a.headers.get('x-cache') === 'HIT')).toBe(true);
    expect(answers.every((a) => !a.headers.get('server-timing')?.startsWith('lane;'))).toBe(true);
    for (const requestId of ids) await valueOf(`server span of ${requestId}`, () => receiver.spans.find((s) => s.service === 'gateway' && s.kind === SPAN_KIND.server && s.attributes['request.id'] === requestId), 15_000, 100);
  });

  it('the SDK and Prisma\'s instrumentation are loaded when tracing is on (so the probe of the next test can see them)', () => {
    const loaded = readFileSync(join(probeDir, 'on.log'), 'utf8');
    expect(loaded).toMatch(/@opentelemetry\/sdk-trace-node/);
    expect(loaded).toMatch(/@prisma\/instrumentation/);
    expect(loaded).toMatch(/tracing-sdk\.ts/);
  });
});

describe.skipIf(!template)('tracing off (no OTEL_EXPORTER_OTLP_ENDPOINT): no tracing code loaded', () => {
  let graph: ProcessGraph;
  let drop: () => Promise<void>;
  const probeDir = mkdtempSync(join(tmpdir(), 'import-probe-'));
  const probeFile = join(probeDir, 'off.log');

  beforeAll(async () => {
    const clone = await cloneDatabase(template as string);
    drop = clone.drop;
    graph = await startProcessGraph(clone.url, { env: { NODE_OPTIONS: PROBE, IMPORT_PROBE_FILE: probeFile } });
  });
  afterAll(async () => {
    await graph?.stop();
    await drop?.();
    rmSync(probeDir, { recursive: true, force: true });
  });

  it('serves a request through all three subgraphs without importing the SDK, an exporter or any instrumentation', async () => {
    const token = await graph.tokenFor('alice@example.com');
    const result = await postGraphQL<any>(graph.gatewayUrl, QUERY, undefined, { authorization: `Bearer ${token}` });
    expect(result.status).toBe(200);
    expect(result.errors).toBeUndefined();
    expect(result.data?.me.orders.edges[0].node.items[0].product.name).toEqual(expect.any(String));
    let loaded = '';
    try {
      loaded = readFileSync(probeFile, 'utf8');
    } catch {
      // nothing matched: the probe never wrote
    }
    // prom-client and @apollo/gateway import @opentelemetry/api (a no-op until a provider is registered);
    // the gateway also parts of the metrics SDK for its optional usage reporting. Ours adds nothing.
    const ours = loaded.split('\n').filter((line) => /sdk-trace|exporter-trace|@opentelemetry\/instrumentation|@prisma\/instrumentation|in-the-middle|tracing-sdk|context-async-hooks/.test(line));
    expect(ours).toEqual([]);
    // The probe was active in these processes: it saw the gateway load Apollo's OpenTelemetry API.
    expect(loaded).toMatch(/@opentelemetry\/api\//);
    const packages = new Set(loaded.split('\n').map((line) => /(@opentelemetry\/[\w-]+)/.exec(line)?.[1]).filter(Boolean));
    console.log(`tracing off: OpenTelemetry packages loaded by dependencies (prom-client: the API; @apollo/gateway: the API and its metrics SDK): ${[...packages].sort().join(', ')}`);
  });
});
