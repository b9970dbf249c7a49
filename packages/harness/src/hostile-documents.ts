// Documents built to make a GraphQL server work super-linearly, by class, each with a size knob, so
// tests and `bench:attack` can draw many variants of a class rather than replay one example. Every
// one is small as text; what it costs once fragments are expanded or fields compared pairwise is
// what the gateway's static pass must see first. Types and fields are the public schema's.

export interface HostileRequest {
  /** The class it belongs to, and the variant. */
  name: string;
  query: string;
  /** The variables as JSON text (they may nest deeper than JSON.stringify can walk). */
  variables?: string;
  operationName?: string;
}

/** The request's JSON body, with `extra` members (extensions, say) added. */
export function requestJson(request: { query?: string; variables?: string | undefined; operationName?: string }, extra: Record<string, unknown> = {}): string {
  const members = [
    ...(request.query === undefined ? [] : [`"query":${JSON.stringify(request.query)}`]),
    ...(request.variables === undefined ? [] : [`"variables":${request.variables}`]),
    ...(request.operationName === undefined ? [] : [`"operationName":${JSON.stringify(request.operationName)}`]),
    ...Object.entries(extra).map(([key, value]) => `${JSON.stringify(key)}:${JSON.stringify(value)}`),
  ];
  return `{${members.join(',')}}`;
}

/** Where in the graph a fragment bomb sits: a type, a path to an object of that type, and two of its fields. */
const PLACES = [
  { type: 'Query', open: '', close: '', fields: ['__typename', '__typename'] },
  { type: 'User', open: 'me { ', close: ' }', fields: ['id', 'name'] },
  { type: 'Product', open: 'products(first: 2) { edges { node { ', close: ' } } }', fields: ['id', 'name'] },
  { type: 'Order', open: 'me { orders(first: 2) { edges { node { ', close: ' } } } }', fields: ['id', 'status'] },
  { type: 'Money', open: 'products(first: 1) { edges { node { price { ', close: ' } } } }', fields: ['amount', 'currency'] },
] as const;

const place = (variant: number) => PLACES[variant % PLACES.length]!;

/** Each of `levels` fragments spreads the next `fanout` times: fanout^levels fields once expanded. */
export function fragmentFanout(levels: number, fanout: number, variant = 0): HostileRequest {
  const at = place(variant);
  const parts = [`fragment F0 on ${at.type} { ${at.fields.join(' ')} }`];
  for (let i = 1; i <= levels; i++) {
    const spreads = Array.from({ length: fanout }, () => `...F${i - 1}`).join(' ');
    // Odd variants put a field beside the spreads, or spread through an inline fragment.
    const body = variant % 3 === 1 ? `${at.fields[0]} ${spreads}` : variant % 3 === 2 ? `... on ${at.type} { ${spreads} }` : spreads;
    parts.push(`fragment F${i} on ${at.type} { ${body} }`);
  }
  return { name: `fragment fan-out ${fanout}^${levels} on ${at.type}`, query: `{ ${at.open}...F${levels}${at.close} } ${parts.join(' ')}` };
}

/** A fan-out whose fragments are distinct at each level (no two spreads name the same fragment). */
export function fragmentTree(levels: number, variant = 0): HostileRequest {
  const at = place(variant);
  const parts: string[] = [];
  for (let i = 0; i < 2 ** levels; i++) parts.push(`fragment L${levels}_${i} on ${at.type} { ${at.fields[i % 2]} }`);
  for (let level = levels - 1; level >= 0; level--) {
    for (let i = 0; i < 2 ** level; i++) parts.push(`fragment L${level}_${i} on ${at.type} { ...L${level + 1}_${2 * i} ...L${level + 1}_${2 * i + 1} }`);
  }
  return { name: `fragment tree of depth ${levels} on ${at.type}`, query: `{ ${at.open}...L0_0${at.close} } ${parts.join(' ')}` };
}

/** One field repeated `n` times at one place: validation compares n²/2 pairs. */
export function repeatedField(n: number, variant = 0): HostileRequest {
  const at = place(variant + 1); // not at the root: the root-field limit would catch it there
  return { name: `one field ×${n} under ${at.type}`, query: `{ ${at.open}${`${at.fields[0]} `.repeat(n)}${at.close} }` };
}

/** A subtree repeated `n` times: every pair of copies is compared, level by level. */
export function repeatedSubtree(n: number, variant = 0): HostileRequest {
  const trees = ['me { orders(first: 1) { edges { node { id status } } } }', 'edges { node { id name price { amount } } }', 'orders(first: 1) { edges { node { id items { quantity } } } }'];
  const tree = trees[variant % trees.length]!;
  const [open, close] = variant % 3 === 1 ? ['products(first: 1) { ', ' }'] : variant % 3 === 2 ? ['me { ', ' }'] : ['', ''];
  return { name: `a subtree ×${n} (${tree.slice(0, 20)}…)`, query: `{ ${open}${`${tree} `.repeat(n)}${close} }` };
}

/** `n` distinct fragments selecting the same fields, all spread at one place. */
export function overlappingFragments(n: number, variant = 0): HostileRequest {
  const at = place(variant + 1);
  const fragments = Array.from({ length: n }, (_, i) => `fragment O${i} on ${at.type} { ${at.fields.join(' ')} }`).join(' ');
  return { name: `${n} overlapping fragments on ${at.type}`, query: `{ ${at.open}${Array.from({ length: n }, (_, i) => `...O${i}`).join(' ')}${at.close} } ${fragments}` };
}

/** `n` variable definitions (used or not). */
export function manyVariables(n: number, used: boolean): HostileRequest {
  const definitions = Array.from({ length: n }, (_, i) => `$v${i}: Boolean`).join(' ');
  const selection = used ? Array.from({ length: n }, (_, i) => `__typename @include(if: $v${i})`).join(' ') : '__typename';
  return { name: `${n} variable definitions${used ? ', each used' : ''}`, query: `query Vars(${definitions}) { ${selection} }` };
}

/** A list or object literal nested `n` deep in an argument. */
export function deepLiteral(n: number, kind: 'list' | 'object'): HostileRequest {
  const value = kind === 'list' ? `${'['.repeat(n)}"x"${']'.repeat(n)}` : `${'{ search: '.repeat(n)}"x"${' }'.repeat(n)}`;
  const query = kind === 'list' ? `{ product(id: ${value}) { id } }` : `{ products(first: 1, filter: ${value}) { totalCount } }`;
  return { name: `a ${kind} literal nested ${n} deep`, query };
}

/** A variable whose JSON value nests `n` deep. */
export function deepVariable(n: number, kind: 'list' | 'object'): HostileRequest {
  const value = kind === 'list' ? `${'['.repeat(n)}"x"${']'.repeat(n)}` : `${'{"search":'.repeat(n)}"x"${'}'.repeat(n)}`;
  const query = kind === 'list' ? 'query Deep($id: ID!) { product(id: $id) { id } }' : 'query Deep($f: ProductFilter) { products(first: 1, filter: $f) { totalCount } }';
  return { name: `a ${kind} variable nested ${n} deep`, query, variables: kind === 'list' ? `{"id":${value}}` : `{"f":${value}}`, operationName: 'Deep' };
}

/** `n` operations in one document. */
export function manyOperations(n: number, withFragments: boolean): HostileRequest {
  const fragment = withFragments ? ' fragment Shared on Query { __typename products(first: 1) { totalCount } }' : '';
  const operations = Array.from({ length: n }, (_, i) => `query Q${i} { ${withFragments ? '...Shared' : '__typename'} }`).join(' ');
  return { name: `${n} operations${withFragments ? ' sharing a fragment' : ''}`, query: `${operations}${fragment}`, operationName: 'Q0' };
}

/** Directives on `n` spreads, and (unless `valid`) on the fragment definition, where @include is not allowed. */
export function directivesOnSpreads(n: number, valid = false): HostileRequest {
  const spreads = Array.from({ length: n }, () => '...D @include(if: true) @skip(if: false)').join(' ');
  return { name: `${n} spreads with directives`, query: `{ me { ${spreads} } } fragment D on User${valid ? '' : ' @include(if: true)'} { id }` };
}

/**
 * Introspection that multiplies its answer by the schema at every level: a field's type, unwrapped,
 * then that type's fields again (`levels` times), written out or (`viaFragment`) through fragments.
 */
export function nestedIntrospection(levels: number, viaFragment = false): HostileRequest {
  if (viaFragment) {
    const parts = ['fragment I0 on __Type { name }'];
    for (let i = 1; i <= levels; i++) parts.push(`fragment I${i} on __Type { name fields { name type { ...I${i - 1} ofType { ...I${i - 1} ofType { ...I${i - 1} } } } } }`);
    return { name: `introspection nested ${levels} levels through fragments`, query: `{ __schema { types { ...I${levels} } } } ${parts.join(' ')}` };
  }
  const query = `{ __schema { types { ${'fields { name type { name ofType { name ofType { name '.repeat(levels)} name ${'} } } } '.repeat(levels)} } } }`;
  return { name: `introspection nested ${levels} levels`, query };
}

/** The classic alias bomb: aliases doubling through fragments. */
export function aliasBomb(levels: number): HostileRequest {
  const parts = ['fragment A0 on User { id }'];
  for (let i = 1; i <= levels; i++) parts.push(`fragment A${i} on User { x${i}: orders(first: 1) { edges { node { user { ...A${i - 1} } } } } y${i}: orders(first: 1) { edges { node { user { ...A${i - 1} } } } } }`);
  return { name: `an alias bomb 2^${levels}`, query: `{ me { ...A${levels} } } ${parts.join(' ')}` };
}

/**
 * One variant of every class, sized to be refused; `seed` picks the variant and size, so
 * successive calls walk the whole class.
 */
export function hostileCorpus(seed = 0): HostileRequest[] {
  const pick = <T>(values: readonly T[]) => values[seed % values.length]!;
  return [
    fragmentFanout(pick([20, 24, 30, 40]), 2, seed),
    fragmentFanout(pick([8, 12, 15]), pick([3, 4, 6]), seed + 1),
    fragmentTree(pick([8, 9, 10]), seed),
    repeatedField(pick([1000, 2500, 4000]), seed),
    repeatedSubtree(pick([100, 200, 300]), seed),
    overlappingFragments(pick([200, 300, 500]), seed),
    manyVariables(pick([800, 1500]), false),
    manyVariables(pick([60, 200]), true),
    deepLiteral(pick([100, 2000, 5000]), 'list'),
    deepLiteral(pick([100, 1000]), 'object'),
    deepVariable(pick([100, 10_000, 100_000]), 'list'),
    deepVariable(pick([100, 10_000]), 'object'),
    manyOperations(pick([50, 500, 1000]), seed % 2 === 0),
    directivesOnSpreads(pick([30, 100])),
    aliasBomb(pick([20, 30])),
    nestedIntrospection(pick([6, 10, 14]), seed % 2 === 1),
  ];
}
