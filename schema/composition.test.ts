// Composition is a test: the committed supergraph and API schema must equal a fresh composition.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { composeSupergraph, schemaFile } from './composition.js';

describe('schema composition', () => {
  const composed = composeSupergraph();

  it('the committed supergraph.graphql is up to date (run `npm run compose` after changing an SDL)', () => {
    expect(readFileSync(schemaFile('supergraph.graphql'), 'utf8')).toBe(composed.supergraphSdl);
  });

  it('the committed api.graphql is up to date', () => {
    expect(readFileSync(schemaFile('api.graphql'), 'utf8')).toBe(composed.apiSdl);
  });

  it('describes every type and field partners see', () => {
    const undocumented: string[] = [];
    const lines = composed.apiSdl.split('\n');
    lines.forEach((line, i) => {
      const definition = /^(type|input|enum|scalar|interface|union) (\w+)/.exec(line) ?? /^ {2}(\w+)[(:]/.exec(line);
      if (!definition) return;
      const previous = lines[i - 1]?.trim() ?? '';
      if (!previous.endsWith('"""') && !previous.endsWith('"')) undocumented.push(definition[0].trim());
    });
    expect(undocumented).toEqual([]);
  });
});
