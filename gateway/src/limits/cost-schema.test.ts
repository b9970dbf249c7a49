import { buildSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import { costSchemaOf } from './cost-schema.js';

describe('costSchemaOf', () => {
  it('finds the directives under the names the schema\'s @link to the cost specification gives them', () => {
    // As a supergraph may link it: the spec renamed (`as`), @listSize imported under a name of its own.
    const schema = buildSchema(/* GraphQL */ `
      schema @link(url: "https://specs.apollo.dev/link/v1.0") @link(url: "https://specs.apollo.dev/cost/v0.1", as: "price", import: [{ name: "@listSize", as: "@size" }]) { query: Query }
      directive @link(url: String, as: String, for: String, import: [link__Import]) repeatable on SCHEMA
      scalar link__Import
      directive @price(weight: Int!) on FIELD_DEFINITION | OBJECT | SCALAR | ENUM | ARGUMENT_DEFINITION | INPUT_FIELD_DEFINITION
      directive @size(assumedSize: Int, slicingArguments: [String!], sizedFields: [String!], requireOneSlicingArgument: Boolean = true) on FIELD_DEFINITION
      directive @cost(weight: Int!) on FIELD_DEFINITION
      type Query { a: Thing @price(weight: 4) b: [Thing!]! @size(assumedSize: 3, slicingArguments: ["first"]) c: Thing @cost(weight: 99) d: Thing }
      type Thing @price(weight: 2) { id: ID }
    `);
    const costs = costSchemaOf(schema);
    expect(costs.field('Query', 'a')).toMatchObject({ weight: 4 });
    expect(costs.field('Query', 'b')?.listSize).toMatchObject({ assumedSize: 3, slicingArguments: ['first'] });
    // @cost is not the cost specification's name here; the type's weight applies.
    expect(costs.field('Query', 'c')).toMatchObject({ weight: 2 });
    expect(costs.field('Query', 'd')).toMatchObject({ weight: 2 });
    expect([...costs.slicingArguments]).toEqual(['first']);
  });
});
