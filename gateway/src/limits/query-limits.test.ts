import { getIntrospectionQuery } from 'graphql';
import { describe, expect, it } from 'vitest';
import { checkQueryLimits, jsonDepth, MAX_NESTING, nestingDepth, QUERY_LIMIT_DEFAULTS, QueryLimitError, type QueryLimits } from './query-limits.js';

/** The limit a document exceeds with `found`, or null when it passes. */
function refusal(text: string, limits: Partial<QueryLimits> = {}): { limit: string; found: number | string | null } | null {
  try {
    checkQueryLimits(text, { ...QUERY_LIMIT_DEFAULTS, ...limits });
    return null;
  } catch (error) {
    if (!(error instanceof QueryLimitError)) throw error;
    return { limit: error.limit, found: (error.extensions.found as number | string | undefined) ?? null };
  }
}

const LOOSE: Partial<QueryLimits> = { expandedFields: Infinity, overlappingFields: Infinity, aliases: Infinity, rootFields: Infinity };

/** Each of `levels` fragments spreads the next twice. */
function fanout(levels: number, leaf = 'id name', type = 'User'): string {
  const parts = [`fragment F0 on ${type} { ${leaf} }`];
  for (let i = 1; i <= levels; i++) parts.push(`fragment F${i} on ${type} { ...F${i - 1} ...F${i - 1} }`);
  return `{ me { ...F${levels} } } ${parts.join(' ')}`;
}

describe('static query limits', () => {
  it('counts fields with every spread expanded, exactly, without expanding: 2^k copies per fragment level', () => {
    // F0 has 2 fields, F6 64 + 64: the walk stops at the first sum past the limit, and never expands.
    expect(refusal(fanout(10), { ...LOOSE, expandedFields: 100 })).toEqual({ limit: 'expandedFields', found: 128 });
    expect(refusal(fanout(40), LOOSE)).toBeNull(); // 2^41 fields: counted, in one walk per fragment
    expect(refusal(fanout(40))).toEqual({ limit: 'expandedFields', found: 2048 });
  });

  it('refuses the fan-out at every level and type, through inline fragments and beside fields', () => {
    const variants = [
      fanout(30, '__typename', 'Query').replace('{ me { ...F30 } }', '{ ...F30 }'),
      fanout(30, 'id', 'Product').replace('{ me { ...F30 } }', '{ products(first: 1) { edges { node { ...F30 } } } }'),
      `{ me { ...F20 } } fragment F0 on User { id } ${Array.from({ length: 20 }, (_, i) => `fragment F${i + 1} on User { name ... on User { ...F${i} ...F${i} } }`).join(' ')}`,
      `{ me { ...F12 } } fragment F0 on User { id } ${Array.from({ length: 12 }, (_, i) => `fragment F${i + 1} on User { ...F${i} ...F${i} ...F${i} ...F${i} }`).join(' ')}`,
    ];
    for (const text of variants) expect(refusal(text)?.limit).toMatch(/^(expandedFields|overlappingFields)$/);
  });

  it('counts the pairs of same-named selections at one place that validation compares, through fragments', () => {
    expect(refusal(`{ me { ${'id '.repeat(100)} } }`, { overlappingFields: 4949 })).toEqual({ limit: 'overlappingFields', found: 4950 });
    expect(refusal(`{ me { ${'id '.repeat(100)} } }`, { overlappingFields: 4950 })).toBeNull();
    // Two copies of a subtree: one pair at each of its 4 paths (edges, node, id, name).
    expect(refusal('{ products(first: 1) { edges { node { id name } } edges { node { id name } } } }', { overlappingFields: 3 })).toEqual({ limit: 'overlappingFields', found: 4 });
    // The same through two fragments spread at one place, and aliases to one response name count too.
    expect(refusal('{ me { ...A ...B } } fragment A on User { id name } fragment B on User { id name: email name }', { overlappingFields: 3 })).toEqual({ limit: 'overlappingFields', found: 4 });
    // Fragments side by side are compared pairwise too, even with no field in common: 70 one-field
    // fragments over 7 fields are 7 × C(10, 2) = 315 field pairs and C(70, 2) = 2,415 fragment pairs.
    const fields = ['id', 'sku', 'name', 'description', 'category', 'stock', 'createdAt'];
    const sideBySide = (k: number) =>
      `{ products(first: 1) { edges { node { ${Array.from({ length: k }, (_, i) => `...P${i}`).join(' ')} } } } } ${Array.from({ length: k }, (_, i) => `fragment P${i} on Product { ${fields[i % 7]} }`).join(' ')}`;
    expect(refusal(sideBySide(70), { overlappingFields: 1e9 })).toBeNull();
    expect(refusal(sideBySide(70), { overlappingFields: 2729 })).toEqual({ limit: 'overlappingFields', found: 2730 });
    // ... and each with what the other spreads, as validation recurses.
    const nested = '{ me { ...A ...B } } fragment A on User { ...A1 ...A2 } fragment B on User { ...B1 ...B2 } fragment A1 on User { id } fragment A2 on User { id } fragment B1 on User { id } fragment B2 on User { id }';
    // field pairs: 4 copies of id = 6; fragment pairs: A–B, A–B1, A–B2, A1–B, A2–B, A1–B1, A1–B2, A2–B1, A2–B2, and A1–A2, B1–B2 side by side = 11
    expect(refusal(nested, { overlappingFields: 16 })).toEqual({ limit: 'overlappingFields', found: 17 });
    expect(refusal(nested, { overlappingFields: 17 })).toBeNull();
    // Different places are not compared: ids of different objects do not pair.
    expect(refusal('{ me { id orders(first: 1) { edges { node { id } } } } }', { overlappingFields: 0 })).toBeNull();
  });

  it('lets real queries through: the README example, shared fragments, a few repeats', () => {
    const myOrders = `query MyOrders { me { name orders(first: 10) { edges { cursor node { id status total { amount currency }
      items { quantity product { id name price { amount currency } } } } } pageInfo { hasNextPage endCursor } } } }`;
    expect(refusal(myOrders)).toBeNull();
    const relayStyle = `{ me { ...A ...B ...C orders(first: 5) { edges { node { ...O ...P } } } } }
      fragment A on User { id name } fragment B on User { id email } fragment C on User { id ...B }
      fragment O on Order { id status total { amount } } fragment P on Order { id items { quantity product { id name } } }`;
    expect(refusal(relayStyle)).toBeNull();
    const twentyFragments = `{ me { ${Array.from({ length: 20 }, (_, i) => `...U${i}`).join(' ')} } } ${Array.from({ length: 20 }, (_, i) => `fragment U${i} on User { id name }`).join(' ')}`;
    expect(refusal(twentyFragments)).toBeNull();
  });

  it('refuses deep nesting of any bracket before the parser recurses into it', () => {
    expect(refusal(`{ product(id: ${'['.repeat(5000)}1${']'.repeat(5000)}) { id } }`, { tokens: 1e6 })).toEqual({ limit: 'depth', found: 5002 });
    expect(refusal(`{ products(first: 1, filter: ${'{ search: '.repeat(100)}"x"${' }'.repeat(100)}) { totalCount } }`)).toEqual({ limit: 'depth', found: 102 });
    expect(refusal(`{ product(id: ${'['.repeat(10)}1${']'.repeat(10)}) { id } }`)).toBeNull(); // validation refuses it, not a limit
  });

  it('lets the standard introspection query through, and refuses a list field nested in itself inside introspection', () => {
    expect(refusal(getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, inputValueDeprecation: true }))).toBeNull();
    expect(refusal('{ __schema { types { fields { type { ofType { fields { name } } } } } } }')).toEqual({ limit: 'introspection', found: 2 });
    expect(refusal('{ __type(name: "User") { fields { type { fields { name } } } } }')).toEqual({ limit: 'introspection', found: 2 });
    // ... also through a fragment, and fragments fanning out inside introspection are bounded.
    expect(refusal('{ __schema { types { ...T } } } fragment T on __Type { fields { type { ...U } } } fragment U on __Type { interfaces { name } fields { name } }')).toEqual({ limit: 'introspection', found: 2 });
    const parts = ['fragment T0 on __Type { name }'];
    for (let i = 1; i <= 30; i++) parts.push(`fragment T${i} on __Type { kind ofType { ...T${i - 1} } ofType { ...T${i - 1} } }`);
    expect(refusal(`{ __schema { queryType { ...T30 } } } ${parts.join(' ')}`)?.limit).toBe('expandedFields');
    // Lists on different paths are fine: types › fields › args and directives › args.
    expect(refusal('{ __schema { types { fields { args { name } } inputFields { name } } directives { args { name } } } }')).toBeNull();
  });

  it('limits operations per document and variables per operation', () => {
    expect(refusal(Array.from({ length: 21 }, (_, i) => `query Q${i} { __typename }`).join(' '))).toEqual({ limit: 'operations', found: 21 });
    expect(refusal(`query V(${Array.from({ length: 101 }, (_, i) => `$v${i}: Int`).join(' ')}) { __typename }`)).toEqual({ limit: 'variables', found: 101 });
    expect(refusal(`query V(${Array.from({ length: 10 }, (_, i) => `$v${i}: Int`).join(' ')}) { __typename }`)).toBeNull();
  });

  it('reads nesting from the characters, skipping strings, block strings and comments', () => {
    expect(nestingDepth('{ a { b(x: [[1]]) } }')).toBe(5);
    expect(nestingDepth(String.raw`{ a(s: "{{{{[[[[", t: "\"{{{") }`)).toBe(2);
    expect(nestingDepth(String.raw`{ a(s: """ {{{{ \""" [[[[ """) }`)).toBe(2);
    expect(nestingDepth('{ a # {{{{ [[[[\n b }')).toBe(1);
  });

  it('caps tokens, and leaves syntax errors to Apollo', () => {
    expect(refusal(`{ me { ${'id '.repeat(6000)} } }`)).toEqual({ limit: 'tokens', found: null });
    expect(refusal('{ product(id: ) }')).toBeNull();
    expect(refusal('{ "unterminated }')).toBeNull();
  });

  it('measures JSON depth iteratively, stopping past the nesting bound', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 200_000; i++) deep = [deep];
    expect(jsonDepth(deep)).toBe(MAX_NESTING + 1);
    expect(jsonDepth({ a: [{ b: 1 }], c: 'x' })).toBe(3);
    expect(jsonDepth('text')).toBe(0);
  });
});
