import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSchema, type OperationDefinitionNode, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { costSchemaOf, costSchemaOfSdl } from './cost-schema.js';
import { COST_DEFAULTS, operationCost, OperationCosts } from './operation-cost.js';

// The supergraph the gateway runs from: its @cost / @listSize directives are the weights.
const supergraph = costSchemaOfSdl(readFileSync(join(import.meta.dirname, '..', '..', '..', 'schema', 'supergraph.graphql'), 'utf8'));

// A schema of its own for each directive, declared the way a non-federated schema declares them.
const small = costSchemaOf(
  buildSchema(/* GraphQL */ `
    directive @cost(weight: Int!) on ARGUMENT_DEFINITION | ENUM | FIELD_DEFINITION | INPUT_FIELD_DEFINITION | OBJECT | SCALAR
    directive @listSize(assumedSize: Int, slicingArguments: [String!], sizedFields: [String!], requireOneSlicingArgument: Boolean = true) on FIELD_DEFINITION
    type Query {
      shelf: Shelf
      expensive: Shelf @cost(weight: 7)
      search(text: String!): [Book!]! @cost(weight: 5) @listSize(assumedSize: 3)
      books(first: Int, last: Int): BookConnection! @listSize(assumedSize: 20, slicingArguments: ["first", "last"], sizedFields: ["edges"], requireOneSlicingArgument: false)
      unsized: [Book!]!
      featured(first: Int = 4): BookConnection! @listSize(assumedSize: 20, slicingArguments: ["first"], sizedFields: ["edges"])
    }
    type Shelf { name: String books: [Book!]! @listSize(assumedSize: 10) }
    type BookConnection { edges: [BookEdge!]! pageInfo: PageInfo! totalCount: Int! }
    type BookEdge { cursor: String! node: Book! }
    type PageInfo { hasNextPage: Boolean! }
    type Book { title: String! rating: Rating! author: Author! reviews(first: Int): ReviewConnection! @listSize(slicingArguments: ["first"], sizedFields: ["edges"], requireOneSlicingArgument: false) }
    type Author @cost(weight: 3) { name: String! }
    scalar Rating @cost(weight: 2)
    type ReviewConnection { edges: [ReviewEdge!]! }
    type ReviewEdge { node: Review! }
    type Review { text: String! }
  `),
);

function cost(query: string, variables?: Record<string, unknown>, costs = supergraph): number {
  const document = parse(query);
  const operation = document.definitions.find((d): d is OperationDefinitionNode => d.kind === 'OperationDefinition')!;
  return operationCost(costs, document, operation, variables);
}

describe('operation cost, read from the directives of a schema', () => {
  it('a field costs its @cost weight, else its type\'s, else 1 for an object and 0 for a scalar', () => {
    expect(cost('{ shelf { name } }', undefined, small)).toBe(1);
    expect(cost('{ expensive { name } }', undefined, small)).toBe(7);
    // Author @cost(weight: 3) on the type, scalar Rating @cost(weight: 2): weighed wherever they are returned.
    expect(cost('{ shelf { books { title rating author { name } } } }', undefined, small)).toBe(1 + 10 * (1 + 2 + 3));
  });

  it('a list with assumedSize multiplies its weight and everything under it by that size', () => {
    expect(cost('{ shelf { books { title } } }', undefined, small)).toBe(1 + 10 * 1);
    expect(cost('{ search(text: "x") { title } }', undefined, small)).toBe(3 * 5);
    // No @listSize: the walk's default list size.
    expect(cost('{ unsized { title } }', undefined, small)).toBe(COST_DEFAULTS.listSize * 1);
  });

  it('a connection is sized by first/last (variables too, the largest, a schema default, else assumedSize): its edges, not its pageInfo', () => {
    const page = (n: number) => 1 + n * (1 + 1) + 1; // connection + n × (edge + book) + pageInfo
    const selection = '{ edges { cursor node { title } } pageInfo { hasNextPage } totalCount }';
    expect(cost(`{ books(first: 5) ${selection} }`, undefined, small)).toBe(page(5));
    expect(cost(`query Q($n: Int) { books(first: $n) ${selection} }`, { n: 50 }, small)).toBe(page(50));
    expect(cost(`{ books(first: 2, last: 7) ${selection} }`, undefined, small)).toBe(page(7));
    expect(cost(`{ books ${selection} }`, undefined, small)).toBe(page(20));
    // `featured(first:)` defaults to 4 in the schema: a query naming none asks for 4, not the assumed 20.
    expect(cost(`{ featured ${selection} }`, undefined, small)).toBe(page(4));
    expect(cost(`{ books(first: 1000000) ${selection} }`, undefined, small)).toBe(page(COST_DEFAULTS.maxSliceSize));
    expect(cost(`{ books(first: -5) ${selection} }`, undefined, small)).toBe(page(0));
  });

  it('connections nest: each page multiplies the one inside it; a connection without assumedSize and no argument falls back to the default list size', () => {
    const reviews = (n: number) => 1 + n * (1 + 1); // connection + n × (edge + review)
    const books = (n: number, inner: number) => 1 + n * (1 + 1 + inner);
    expect(cost('{ books(first: 3) { edges { node { reviews(first: 4) { edges { node { text } } } } } } }', undefined, small)).toBe(books(3, reviews(4)));
    expect(cost('{ books(first: 3) { edges { node { reviews { edges { node { text } } } } } } }', undefined, small)).toBe(books(3, reviews(COST_DEFAULTS.listSize)));
  });

  it('fragments and inline fragments under a connection are sized like the fields they stand for', () => {
    const direct = cost('{ books(first: 3) { edges { node { title author { name } } } } }', undefined, small);
    expect(direct).toBe(1 + 3 * (1 + 1 + 3));
    expect(cost('{ books(first: 3) { ...Page } } fragment Page on BookConnection { edges { node { ... on Book { title author { name } } } } }', undefined, small)).toBe(direct);
    // The same fragment under two page sizes is two costs, not one remembered for both.
    expect(cost('{ a: books(first: 3) { ...Page } b: books(first: 30) { ...Page } } fragment Page on BookConnection { edges { node { title } } }', undefined, small)).toBe(1 + 3 * 2 + (1 + 30 * 2));
  });
});

describe('operation cost of our graph (the supergraph\'s directives)', () => {
  it('charges object fields, not scalars: one product costs 1 however many scalars it selects', () => {
    expect(cost('{ product(id: "x") { id } }')).toBe(1);
    expect(cost('{ product(id: "x") { id name description } }')).toBe(1);
    expect(cost('{ product(id: "x") { price { amount currency } } }')).toBe(2);
  });

  it('multiplies a page\'s edges by the page size asked for, from literals or variables; pageInfo once', () => {
    const page = (n: number) => 1 + n * (1 + 1 + 1); // products + n × (edge + node + price)
    expect(cost('{ products(first: 5) { edges { node { price { amount } } } } }')).toBe(page(5));
    expect(cost('query Q($n: Int) { products(first: $n) { edges { node { price { amount } } } } }', { n: 50 })).toBe(page(50));
    expect(cost('{ products(last: 7) { edges { node { price { amount } } } } }')).toBe(page(7));
    expect(cost('{ products(first: 5) { totalCount edges { node { price { amount } } } pageInfo { hasNextPage endCursor } } }')).toBe(page(5) + 1);
  });

  it('assumes the default page when none is given, and never more than the maximum the subgraphs allow', () => {
    const one = cost('{ products(first: 1) { edges { node { price { amount } } } } }') - 1;
    expect(cost('{ products { edges { node { price { amount } } } } }')).toBe(1 + 20 * one);
    expect(cost('{ products(first: 1000000) { edges { node { price { amount } } } } }')).toBe(1 + 100 * one);
  });

  it('nests: users × orders × items multiply', () => {
    // users 1 + 10 × (edge 1 + node 1 + orders), orders 1 + 5 × (edge 1 + node 1 + items),
    // items (an order's lines, assumedSize 10) 10 × (line 1 + product 1).
    const orders = 1 + 5 * (1 + 1 + 10 * (1 + 1));
    expect(cost('{ users(first: 10) { edges { node { orders(first: 5) { edges { node { items { quantity product { id } } } } } } } } }')).toBe(1 + 10 * (1 + 1 + orders));
  });

  it('the figures docs/limits.md and docs/api.md quote', () => {
    expect(cost('{ products(first: 20) { edges { node { name price { amount currency } } } } }')).toBe(61);
    expect(cost('query MyOrders { me { name orders(first: 10) { edges { cursor node { id status total { amount currency } items { quantity product { id name price { amount currency } } } } } pageInfo { hasNextPage endCursor } } } }')).toBe(333);
    expect(cost('{ users(first: 50) { edges { node { orders(first: 50) { edges { node { items { product { id } } } } } } } } }')).toBe(55_151);
    expect(cost('query Nested($n: Int!) { users(first: $n) { edges { node { id name orders(first: $n) { edges { node { id status total { amount } items { quantity product { id name price { amount } } } } } } } } } }', { n: 50 })).toBe(82_651);
  });

  it('counts fragments and inline fragments like the fields they stand for', () => {
    const direct = cost('{ products(first: 3) { edges { node { price { amount } } } } }');
    expect(cost('{ products(first: 3) { ...Page } } fragment Page on ProductConnection { edges { node { ... on Product { price { amount } } } } }')).toBe(direct);
  });

  it('writes cost more than reads (every mutation field carries @cost(weight: 10)); userErrors are free', () => {
    expect(cost('mutation { updateMe(input: { name: "A" }) { user { id } } }')).toBe(10 + 1);
    expect(cost('mutation { updateMe(input: { name: "A" }) { user { id } userErrors { field message code } } }')).toBe(10 + 1);
    expect(cost('mutation { a: cancelOrder(id: "1") { order { id } } b: cancelOrder(id: "2") { order { id } } }')).toBe(2 * (10 + 1));
  });

  it('introspection is a fixed cost, whatever it selects; __typename is free', () => {
    expect(cost('{ __schema { types { name fields { name type { name ofType { name } } } } } }')).toBe(COST_DEFAULTS.introspectionWeight);
    expect(cost('{ __typename }')).toBe(1);
  });

  it('weighs each fragment once however often it is spread: 2^40 copies of an object field, without walking them', () => {
    const parts = ['fragment F0 on Product { price { amount } }'];
    for (let i = 1; i <= 40; i++) parts.push(`fragment F${i} on Product { ...F${i - 1} ...F${i - 1} }`);
    expect(cost(`{ product(id: "x") { ...F40 } } ${parts.join(' ')}`)).toBe(1 + 2 ** 40);
    const root = ['fragment R0 on Query { product(id: "x") { id } }', 'fragment R1 on Query { ...R0 ...R0 }'];
    expect(cost(`{ ...R1 } ${root.join(' ')}`)).toBe(2);
    // Under a page, a fragment of edges is remembered with its size: 2^30 spreads, each 5 edges.
    const edges = ['fragment E0 on ProductConnection { edges { node { id } } }'];
    for (let i = 1; i <= 30; i++) edges.push(`fragment E${i} on ProductConnection { ...E${i - 1} ...E${i - 1} }`);
    expect(cost(`{ products(first: 5) { ...E30 } } ${edges.join(' ')}`)).toBe(1 + 2 ** 30 * 5 * 2);
  });

  it('remembered per document and page sizes: the same costs as walking every time, whatever the variables', () => {
    const costs = new OperationCosts(supergraph);
    const document = parse('query Q($n: Int, $m: Int, $id: ID!) { product(id: $id) { id } users(first: $n) { edges { node { orders(first: $m) { edges { node { id } } } } } } }');
    const operation = document.definitions[0] as OperationDefinitionNode;
    for (const variables of [{ n: 5, m: 2, id: 'a' }, { n: 5, m: 2, id: 'b' }, { n: 50, m: 2, id: 'a' }, { n: 5, m: 9, id: 'a' }, { id: 'a' }, { n: 5, m: 2, id: 'a' }]) {
      expect(costs.costOf(document, operation, variables)).toBe(operationCost(supergraph, document, operation, variables));
    }
    expect(costs.costOf(document, operation, { n: 50, m: 2, id: 'x' })).toBeGreaterThan(costs.costOf(document, operation, { n: 5, m: 2, id: 'x' }));
  });
});
