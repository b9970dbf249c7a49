// The committed client documents are what `npm run documents` makes now: the manifest the gateway
// loads and the typed documents the clients build with may not drift from clients/operations/.
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../gateway/src/cache/persisted-documents.js';
import { manifestOf, staleDocuments } from './documents.js';

describe('npm run documents', () => {
  it('the committed manifest and typed documents equal a fresh generation', { timeout: 120_000 }, async () => {
    expect(await staleDocuments(), 'run `npm run documents` and commit clients/').toEqual([]);
  });

  const body = (text: string) => ({ [sha256Hex(text)]: text });

  it('the manifest is sorted by operation name, each with its type, whatever order the documents come in', () => {
    const manifest = manifestOf({ ...body('mutation Zed { __typename }'), ...body('query Alpha { __typename }') });
    expect(manifest).toEqual({
      format: 'apollo-persisted-query-manifest',
      version: 1,
      operations: [
        { id: sha256Hex('query Alpha { __typename }'), name: 'Alpha', type: 'query', body: 'query Alpha { __typename }' },
        { id: sha256Hex('mutation Zed { __typename }'), name: 'Zed', type: 'mutation', body: 'mutation Zed { __typename }' },
      ],
    });
  });

  it('refuses an id that is not the SHA-256 of its body, and an operation over the default static limits, by name', () => {
    expect(() => manifestOf({ ['0'.repeat(64)]: 'query A { __typename }' })).toThrow(/not the SHA-256/);
    const deep = `query Deep { ${'a { '.repeat(13)}b${' }'.repeat(13)} }`;
    expect(() => manifestOf(body(deep))).toThrow(/operation Deep exceeds the gateway's default static limit depth/);
  });
});
