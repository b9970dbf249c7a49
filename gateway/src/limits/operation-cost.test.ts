import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSchema, type OperationDefinitionNode, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { COST_DEFAULTS, operationCost, OperationCosts } from './operation-cost.js';

// The public schema partners code against: the one the gateway weighs operations with.
const schema = buildSchema(readFileSync(join(import.meta.dirname, '..', '..', '..', 'schema', 'api.graphql'), 'utf8'));

function cost(query: string, variables?: Record<string, unknown>, model = COST_DEFAULTS): number {
  const document = parse(query);
  const operation = document.definitions.find((d): d is OperationDefinitionNode => d.kind === 'OperationDefinition')!;
  return operationCost(schema, document, operation, variables, model);
}

describe('operation cost', () => {
  it('charges object fields, not scalars: one product costs 1 however many scalars it selects', () => {
    expect(cost('{ product(id: "x") { id } }')).toBe(1);
    expect(cost('{ product(id: "x") { id name description } }')).toBe(1);
    expect(cost('{ product(id: "x") { price { amount currency } } }')).toBe(2);
  });

  it('multiplies what is under a page by the page size asked for, from literals or variables', () => {
    const page = (n: number) => 1 + n * (1 + 1 + 1); // products + n × (edges + node + price)
    expect(cost('{ products(first: 5) { edges { node { price { amount } } } } }')).toBe(page(5));
    expect(cost('query Q($n: Int) { products(first: $n) { edges { node { price { amount } } } } }', { n: 50 })).toBe(page(50));
    expect(cost('{ products(last: 7) { edges { node { price { amount } } } } }')).toBe(page(7));
  });

  it('assumes the default page when none is given, and never more than the maximum the subgraphs allow', () => {
    const one = cost('{ products(first: 1) { edges { node { price { amount } } } } }') - 1;
    expect(cost('{ products { edges { node { price { amount } } } } }')).toBe(1 + 20 * one);
    expect(cost('{ products(first: 1000000) { edges { node { price { amount } } } } }')).toBe(1 + 100 * one);
  });

  it('nests: users × orders × items multiply', () => {
    // users 1 + 10 × (edges 1 + node 1 + orders), orders 1 + 5 × (edges 1 + node 1 + items),
    // items (a list of lines, assumed 10) 1 + 10 × product 1.
    const orders = 1 + 5 * (1 + 1 + (1 + 10 * 1));
    expect(cost('{ users(first: 10) { edges { node { orders(first: 5) { edges { node { items { quantity product { id } } } } } } } } }')).toBe(1 + 10 * (1 + 1 + orders));
  });

  it('counts fragments and inline fragments like the fields they stand for', () => {
    const direct = cost('{ products(first: 3) { edges { node { price { amount } } } } }');
    expect(cost('{ products(first: 3) { ...Page } } fragment Page on ProductConnection { edges { node { ... on Product { price { amount } } } } }')).toBe(direct);
  });

  it('writes cost more than reads; overrides replace a field\'s weight', () => {
    expect(cost('mutation { updateMe(input: { name: "A" }) { user { id } } }')).toBe(COST_DEFAULTS.mutationWeight + 1);
    expect(cost('{ product(id: "x") { id } }', undefined, { ...COST_DEFAULTS, weights: { 'Query.product': 7 } })).toBe(7);
  });

  it('introspection is a fixed cost, whatever it selects; __typename is free', () => {
    expect(cost('{ __schema { types { name fields { name type { name ofType { name } } } } } }')).toBe(COST_DEFAULTS.introspectionWeight);
    expect(cost('{ __typename }')).toBe(1);
  });

  it('weighs each fragment once however often it is spread: 2^40 copies of an object field, without walking them', () => {
    const parts = ['fragment F0 on Product { price { amount } }'];
    for (let i = 1; i <= 40; i++) parts.push(`fragment F${i} on Product { ...F${i - 1} ...F${i - 1} }`);
    expect(cost(`{ product(id: "x") { ...F40 } } ${parts.join(' ')}`)).toBe(1 + 2 ** 40);
    // At the root the weight depends on the operation (mutations weigh more), and still adds up.
    const root = ['fragment R0 on Query { product(id: "x") { id } }', 'fragment R1 on Query { ...R0 ...R0 }'];
    expect(cost(`{ ...R1 } ${root.join(' ')}`)).toBe(2);
  });

  it('remembered per document and page sizes: the same costs as walking every time, whatever the variables', () => {
    const costs = new OperationCosts();
    const document = parse('query Q($n: Int, $m: Int, $id: ID!) { product(id: $id) { id } users(first: $n) { edges { node { orders(last: $m) { edges { node { id } } } } } } }');
    const operation = document.definitions[0] as OperationDefinitionNode;
    for (const variables of [{ n: 5, m: 2, id: 'a' }, { n: 5, m: 2, id: 'b' }, { n: 50, m: 2, id: 'a' }, { n: 5, m: 9, id: 'a' }, { id: 'a' }, { n: 5, m: 2, id: 'a' }]) {
      expect(costs.costOf(schema, document, operation, variables)).toBe(operationCost(schema, document, operation, variables));
    }
    expect(costs.costOf(schema, document, operation, { n: 50, m: 2, id: 'x' })).toBeGreaterThan(costs.costOf(schema, document, operation, { n: 5, m: 2, id: 'x' }));
  });
});
