import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InMemoryLRUCache } from '@apollo/utils.keyvaluecache';
import { ConfigError } from '@commerce/platform/env';
import { describe, expect, it } from 'vitest';
import { gatewayConfig } from '../config.js';
import { DocumentLimits, QUERY_LIMIT_DEFAULTS } from '../limits/query-limits.js';
import { checkManifest, loadPersistedDocuments, type ManifestOperation, PersistedDocuments, sha256Hex } from './persisted-documents.js';
import { persistedQueryCache } from './persisted-queries.js';

const operation = (body: string, name: string | null, type: ManifestOperation['type'] = 'query'): ManifestOperation => ({ id: sha256Hex(body), name, type, body });
const manifest = (operations: unknown[]) => JSON.stringify({ format: 'apollo-persisted-query-manifest', version: 1, operations });
const limits = new DocumentLimits(QUERY_LIMIT_DEFAULTS);
const problemsOf = (text: string, with_ = limits): string[] => {
  try {
    checkManifest(text, 'm.json', with_);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
};

describe('the trusted documents manifest', () => {
  const catalog = operation('query Catalog { products(first: 5) { totalCount } }', 'Catalog');

  it('accepts Apollo\'s manifest format', () => {
    expect(problemsOf(manifest([catalog]))).toEqual([]);
  });

  it('names every problem: format, an id that is not the body\'s hash, a duplicate, a mismatched name or type, an unparsable body', () => {
    expect(problemsOf('{"format":"something-else","version":1,"operations":[]}')).toEqual([expect.stringMatching(/format/)]);
    expect(problemsOf('not json')[0]).toMatch(/not JSON/);
    const problems = problemsOf(
      manifest([
        { ...catalog, id: 'a'.repeat(64) },
        catalog,
        catalog,
        operation('query Other { __typename }', 'Listed'),
        operation('mutation M { __typename }', 'M', 'query'),
        operation('query {', 'Broken'),
      ]),
    );
    expect(problems).toEqual([
      expect.stringMatching(/Catalog .*id is not the SHA-256 of its body/),
      expect.stringMatching(/Catalog .*is listed twice/),
      expect.stringMatching(/Listed .*its body is query Other, not the listed query Listed/),
      expect.stringMatching(/M .*its body is mutation M, not the listed query M/),
      expect.stringMatching(/Broken .*Syntax Error/),
    ]);
  });

  it('refuses a listed document over the static limits, naming the operation and the limit', () => {
    const deep = operation('query MyOrders { me { orders { edges { node { items { product { price { amount } } } } } } } }', 'MyOrders');
    expect(problemsOf(manifest([deep]))).toEqual([]);
    const shallow = new DocumentLimits({ ...QUERY_LIMIT_DEFAULTS, depth: 4 });
    expect(problemsOf(manifest([deep]), shallow)).toEqual([expect.stringMatching(/operation MyOrders \(.*\) exceeds the static limit depth \(max 4, found \d+\)/)]);
  });

  it('the committed manifest loads by default; a manifest path that cannot be read stops the start; off reads nothing', () => {
    const documents = loadPersistedDocuments(gatewayConfig({ NODE_ENV: 'test' }).persistedDocuments, limits);
    expect(documents.mode).toBe('allow');
    expect(documents.size).toBeGreaterThanOrEqual(4);
    expect(() => loadPersistedDocuments(gatewayConfig({ NODE_ENV: 'test', PERSISTED_DOCUMENTS_MANIFEST: '/nonexistent/m.json' }).persistedDocuments, limits)).toThrow(/cannot read \/nonexistent\/m.json/);
    expect(loadPersistedDocuments(gatewayConfig({ NODE_ENV: 'test', PERSISTED_DOCUMENTS: 'off', PERSISTED_DOCUMENTS_MANIFEST: '/nonexistent/m.json' }).persistedDocuments, limits).size).toBe(0);
    expect(() => gatewayConfig({ NODE_ENV: 'test', PERSISTED_DOCUMENTS: 'sometimes' })).toThrow(/PERSISTED_DOCUMENTS/);
    expect(() => loadPersistedDocuments({ mode: 'require', manifestPath: null }, limits)).toThrow(/PERSISTED_DOCUMENTS=require: no manifest/);
  });

  it('QUERY_MAX_* lowered below a committed operation stops the start with its name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'manifest-'));
    writeFileSync(join(dir, 'm.json'), manifest([operation('query Wide { a: __typename b: __typename }', 'Wide')]));
    const config = gatewayConfig({ NODE_ENV: 'test', PERSISTED_DOCUMENTS_MANIFEST: join(dir, 'm.json'), QUERY_MAX_ALIASES: '1' });
    expect(() => loadPersistedDocuments(config.persistedDocuments, new DocumentLimits(config.queryLimits))).toThrow(/operation Wide .* exceeds the static limit aliases \(max 1, found 2\)/);
  });
});

describe('the persisted-query cache Apollo reads (keys as Apollo asks: apq:<hash>)', () => {
  const listed = operation('query Catalog { products(first: 5) { totalCount } }', 'Catalog');
  const other = 'query Other { __typename }';
  const setup = async (mode: 'off' | 'allow' | 'require') => {
    const apq = new InMemoryLRUCache<string>();
    await apq.set(`apq:${sha256Hex(other)}`, other);
    return { apq, cache: persistedQueryCache(new PersistedDocuments(mode, [listed]), apq) };
  };

  it('allow: a listed id from the manifest, anything else from APQ; a listed document is never written to APQ', async () => {
    const { apq, cache } = await setup('allow');
    expect(await cache.get(`apq:${listed.id}`)).toBe(listed.body);
    expect(await cache.get(`apq:${sha256Hex(other)}`)).toBe(other);
    await cache.set(`apq:${listed.id}`, listed.body);
    expect(await apq.get(`apq:${listed.id}`)).toBeUndefined();
    await cache.set('apq:new', 'query New { __typename }');
    expect(await apq.get('apq:new')).toBe('query New { __typename }');
  });

  it('off: the manifest is not consulted', async () => {
    const { cache } = await setup('off');
    expect(await cache.get(`apq:${listed.id}`)).toBeUndefined();
    expect(await cache.get(`apq:${sha256Hex(other)}`)).toBe(other);
  });

  it('require: only the manifest; APQ is neither read nor written', async () => {
    const { apq, cache } = await setup('require');
    expect(await cache.get(`apq:${listed.id}`)).toBe(listed.body);
    expect(await cache.get(`apq:${sha256Hex(other)}`)).toBeUndefined();
    await cache.set('apq:new', 'query New { __typename }');
    expect(await apq.get('apq:new')).toBeUndefined();
  });

  it('lists a document by its exact text only', () => {
    const documents = new PersistedDocuments('require', [listed]);
    expect(documents.listsText(listed.body)).toBe(true);
    expect(documents.listsText(`${listed.body} `)).toBe(false);
    expect(documents.lists(listed.id)).toBe(true);
    expect(documents.lists({ id: listed.id })).toBe(false);
  });
});
