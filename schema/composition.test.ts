// Composition is a test: the committed supergraph and API schema must equal a fresh composition.
import { readFileSync } from 'node:fs';
import { buildSchema, isObjectType } from 'graphql';
import { describe, expect, it } from 'vitest';
import { costSchemaOf } from '../gateway/src/limits/cost-schema.js';
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

  it('carries the subgraphs\' @cost and @listSize into the supergraph (the gateway weighs by them), not into the API schema', () => {
    expect(composed.supergraphSdl).toContain('@link(url: "https://specs.apollo.dev/cost/v0.1", import: ["@listSize"])');
    const costs = costSchemaOf(buildSchema(composed.supergraphSdl, { assumeValidSDL: true }));
    const page = (slicingArguments: string[]) => ({ listSize: { assumedSize: 20, slicingArguments, sizedFields: new Set(['edges']) } });
    expect(costs.field('Query', 'products')).toEqual({ weight: undefined, ...page(['first', 'last']) });
    expect(costs.field('Query', 'users')).toEqual({ weight: undefined, ...page(['first']) });
    expect(costs.field('User', 'orders')).toEqual({ weight: undefined, ...page(['first']) });
    expect(costs.field('Order', 'items')).toEqual({ weight: undefined, listSize: { assumedSize: 10, slicingArguments: [], sizedFields: new Set() } });
    // UserError @cost(weight: 0) in all three subgraphs: a list of them weighs nothing.
    expect(costs.field('UpdateMePayload', 'userErrors')).toEqual({ weight: 0, listSize: undefined });
    // Every write weighs 10, whichever subgraph owns it; a new mutation without @cost fails here.
    const mutation = costs.schema.getMutationType();
    expect(mutation && isObjectType(mutation)).toBe(true);
    const unweighed = Object.keys(mutation!.getFields()).filter((name) => costs.field('Mutation', name)?.weight !== 10);
    expect(unweighed).toEqual([]);
    expect(composed.apiSdl).not.toMatch(/@cost|@listSize/);
  });
});
