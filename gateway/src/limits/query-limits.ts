// Static limits on a GraphQL document, checked before Apollo parses and validates it: validation,
// cost analysis and query planning all expand fragments, so a document that is small as text can
// be huge once expanded (each of 30 fragments spreading the next twice is 2^30 fields), and
// validation compares same-named fields pairwise. Everything here is measured from the text in
// time linear in its size: one pass over its characters (bracket nesting) before parsing (with a
// token cap), then one walk of each operation and fragment, each fragment measured once and its
// measure reused wherever it is spread (never by expanding it). A rejection names the limit: HTTP 400, code
// QUERY_LIMIT_EXCEEDED, extensions.limit / max / found.
import { type DefinitionNode, type FragmentDefinitionNode, GraphQLError, Kind, parse, type SelectionSetNode } from 'graphql';
import { LRUCache } from 'lru-cache';

export interface QueryLimits {
  /** Lexical tokens in the whole document (stops huge documents during parsing). */
  tokens: number;
  /** Nested selection depth of an operation, fragments expanded; introspection subtrees not counted. */
  depth: number;
  /** Aliased fields in an operation, fragments expanded (each use counts). */
  aliases: number;
  /** Fields at the root of an operation. */
  rootFields: number;
  /** Directives on one field, fragment or operation. */
  directivesPerNode: number;
  /** Directives in the whole document. */
  directives: number;
  /** Field selections of all operations with every fragment spread expanded (each use counts). */
  expandedFields: number;
  /**
   * Pairs validation compares: selections with the same response name at the same place of the
   * result (fragments expanded), and fragments spread side by side (each also against the
   * fragments the other spreads). A few hundred copies of one field, or of fragments at one
   * place, are tens of thousands of comparisons.
   */
  overlappingFields: number;
  /** Operations in one document (validation checks every one of them, whichever is run). */
  operations: number;
  /** Variable definitions of one operation. */
  variables: number;
}

export const QUERY_LIMIT_DEFAULTS: QueryLimits = {
  tokens: 5000,
  depth: 12,
  aliases: 30,
  rootFields: 20,
  directivesPerNode: 5,
  directives: 50,
  expandedFields: 2000,
  overlappingFields: 2000,
  operations: 20,
  variables: 100,
};

/**
 * Brackets, braces and parentheses nested deeper than this are refused before parsing (as limit
 * "depth"): GraphQL's parser recurses once per level, and a list literal nested a few thousand
 * deep overflows the stack. Far above what the selection depth limit lets a real query reach.
 */
export const MAX_NESTING = 64;

export type LimitName = keyof QueryLimits | 'cost' | 'introspection';

/**
 * Introspection fields that return lists. In an introspection subtree each may appear once on a
 * path: the standard introspection query (Sandbox's, graphql-js's getIntrospectionQuery) never
 * nests one in itself, while `fields { type { ofType { fields { … } } } }` multiplies the answer by
 * the schema's size at every level (14 levels, 900 bytes of query: 1.6 s and 24 MB of answer).
 */
const INTROSPECTION_LISTS = new Set(['types', 'fields', 'inputFields', 'interfaces', 'possibleTypes', 'enumValues', 'args', 'directives']);

/**
 * HTTP 400, code QUERY_LIMIT_EXCEEDED; `extensions.limit` names the limit, `max` its value. Made
 * without a stack trace: refusals are what an attacker makes the gateway produce in bulk, and the
 * trace was the most expensive part of one.
 */
export class QueryLimitError extends GraphQLError {
  readonly limit: LimitName;
  readonly max: number;
  readonly found: number | null;

  constructor(limit: LimitName, max: number, found: number | null, whose = 'the') {
    const shown = found === null ? null : Number.isFinite(found) && found <= Number.MAX_SAFE_INTEGER ? found : `more than ${Number.MAX_SAFE_INTEGER}`;
    const traceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      super(shown === null ? `The operation exceeds ${whose} ${limit} limit of ${max}.` : `The operation exceeds ${whose} ${limit} limit of ${max} (found ${shown}).`, {
        extensions: { code: 'QUERY_LIMIT_EXCEEDED', limit, max, ...(shown === null ? {} : { found: shown }), http: { status: 400 } },
      });
    } finally {
      Error.stackTraceLimit = traceLimit;
    }
    this.limit = limit;
    this.max = max;
    this.found = found;
  }
}

interface Measure {
  depth: number;
  aliases: number;
  /** Field selections once every spread is expanded (may exceed 2^53 for a fragment bomb; only compared). */
  fields: number;
}

const NOTHING: Measure = { depth: 0, aliases: 0, fields: 0 };

/**
 * How deep brackets, braces and parentheses nest in a document, from its characters alone (one
 * pass, no allocation): strings, block strings and comments are skipped, since brackets in them
 * are text.
 */
export function nestingDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x7b || c === 0x5b || c === 0x28) {
      // { [ (
      if (++depth > deepest) deepest = depth;
    } else if (c === 0x7d || c === 0x5d || c === 0x29) {
      depth -= 1;
    } else if (c === 0x23) {
      // # comment, to the end of the line
      while (i + 1 < text.length && text.charCodeAt(i + 1) !== 0x0a && text.charCodeAt(i + 1) !== 0x0d) i++;
    } else if (c === 0x22) {
      if (text.startsWith('""', i + 1)) {
        // """block string""": ends at the next unescaped """
        i += 3;
        while (i < text.length && !(text.startsWith('"""', i) && text.charCodeAt(i - 1) !== 0x5c)) i++;
        i += 2;
      } else {
        i++;
        while (i < text.length && text.charCodeAt(i) !== 0x22 && text.charCodeAt(i) !== 0x0a) i += text.charCodeAt(i) === 0x5c ? 2 : 1;
      }
    }
  }
  return deepest;
}

/**
 * Throws QueryLimitError for the first limit the document exceeds; returns normally when it is
 * within them or is not valid GraphQL (Apollo then reports the syntax error itself). Time and
 * memory are linear in the length of `text`, whatever it contains.
 */
export function checkQueryLimits(text: string, limits: QueryLimits): void {
  // Before parsing: the parser recurses once per level of nesting.
  const nesting = nestingDepth(text);
  if (nesting > MAX_NESTING) throw new QueryLimitError('depth', limits.depth, nesting);
  let definitions: readonly DefinitionNode[];
  try {
    definitions = parse(text, { maxTokens: limits.tokens, noLocation: true }).definitions;
  } catch (error) {
    if (error instanceof GraphQLError && /contains more th\w+ \d+ tokens/.test(error.message)) throw new QueryLimitError('tokens', limits.tokens, null);
    return; // a syntax error: Apollo reports it
  }
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of definitions) if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);

  const operations = definitions.filter((definition) => definition.kind === Kind.OPERATION_DEFINITION);
  if (operations.length > limits.operations) throw new QueryLimitError('operations', limits.operations, operations.length);
  for (const operation of operations) {
    const variables = operation.variableDefinitions?.length ?? 0;
    if (variables > limits.variables) throw new QueryLimitError('variables', limits.variables, variables);
  }

  let directives = 0;
  const countDirectives = (node: { directives?: readonly unknown[] }) => {
    const here = node.directives?.length ?? 0;
    if (here > limits.directivesPerNode) throw new QueryLimitError('directivesPerNode', limits.directivesPerNode, here);
    directives += here;
    if (directives > limits.directives) throw new QueryLimitError('directives', limits.directives, directives);
  };
  // Directives are counted once per place they are written (every node of the document).
  const walkDirectives = (selectionSet: SelectionSetNode) => {
    for (const selection of selectionSet.selections) {
      countDirectives(selection);
      if (selection.kind !== Kind.FRAGMENT_SPREAD && selection.selectionSet) walkDirectives(selection.selectionSet);
    }
  };
  for (const definition of definitions) {
    if (definition.kind !== Kind.FRAGMENT_DEFINITION && definition.kind !== Kind.OPERATION_DEFINITION) continue;
    countDirectives(definition);
    walkDirectives(definition.selectionSet);
  }

  // Inside __schema / __type: no list field nested in itself (see INTROSPECTION_LISTS). Fragments
  // are followed (each once per path: validation refuses cycles later), so a list field reached
  // through a fragment counts too; every field visited counts against `expandedFields`, so
  // fragments fanning out inside an introspection subtree cannot make this walk long.
  let introspectionVisits = 0;
  const checkIntrospection = (selectionSet: SelectionSetNode, onPath: Set<string>, fragmentsOnPath: Set<string>) => {
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        if (++introspectionVisits > limits.expandedFields) throw new QueryLimitError('expandedFields', limits.expandedFields, introspectionVisits);
        if (!selection.selectionSet) continue;
        const name = selection.name.value;
        if (!INTROSPECTION_LISTS.has(name)) checkIntrospection(selection.selectionSet, onPath, fragmentsOnPath);
        else if (onPath.has(name)) throw new QueryLimitError('introspection', 1, 2);
        else checkIntrospection(selection.selectionSet, new Set([...onPath, name]), fragmentsOnPath);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        checkIntrospection(selection.selectionSet, onPath, fragmentsOnPath);
      } else {
        const fragment = fragments.get(selection.name.value);
        if (fragment && !fragmentsOnPath.has(fragment.name.value)) checkIntrospection(fragment.selectionSet, onPath, new Set([...fragmentsOnPath, fragment.name.value]));
      }
    }
  };

  // Each fragment is measured once (a fragment used 2^30 times through nesting is still one walk);
  // a fragment in a cycle measures 0 here and is refused by validation afterwards.
  const measured = new Map<string, Measure | 'visiting'>();
  const fragmentMeasure = (name: string): Measure => {
    const known = measured.get(name);
    if (known === 'visiting') return NOTHING;
    if (known) return known;
    const fragment = fragments.get(name);
    if (!fragment) return NOTHING;
    measured.set(name, 'visiting');
    const result = selectionMeasure(fragment.selectionSet);
    measured.set(name, result);
    return result;
  };
  const selectionMeasure = (selectionSet: SelectionSetNode): Measure => {
    let depth = 0;
    let aliases = 0;
    let fields = 0;
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        fields += 1;
        if (selection.alias) aliases += 1;
        if (selection.name.value === '__schema' || selection.name.value === '__type') {
          if (selection.selectionSet) checkIntrospection(selection.selectionSet, new Set(), new Set());
          continue;
        }
        if (selection.selectionSet) {
          const inner = selectionMeasure(selection.selectionSet);
          depth = Math.max(depth, inner.depth + 1);
          aliases += inner.aliases;
          fields += inner.fields;
        } else {
          depth = Math.max(depth, 1);
        }
      } else {
        const inner = selection.kind === Kind.INLINE_FRAGMENT ? selectionMeasure(selection.selectionSet) : fragmentMeasure(selection.name.value);
        depth = Math.max(depth, inner.depth);
        aliases += inner.aliases;
        fields += inner.fields;
      }
      if (aliases > limits.aliases) throw new QueryLimitError('aliases', limits.aliases, aliases);
      if (fields > limits.expandedFields) throw new QueryLimitError('expandedFields', limits.expandedFields, fields);
    }
    return { depth, aliases, fields };
  };

  let expanded = 0;
  for (const operation of operations) {
    const { depth, fields } = selectionMeasure(operation.selectionSet);
    expanded += fields;
    if (expanded > limits.expandedFields) throw new QueryLimitError('expandedFields', limits.expandedFields, expanded);
    const roots = operation.selectionSet.selections.filter((selection) => selection.kind === Kind.FIELD).length;
    if (roots > limits.rootFields) throw new QueryLimitError('rootFields', limits.rootFields, roots);
    if (depth > limits.depth) throw new QueryLimitError('depth', limits.depth, depth);
  }

  // Only now (every operation expands to at most `expandedFields` fields, so every fragment they
  // reach does too): how many selections share each response path. Per fragment once, as paths
  // relative to it; a spread adds that map under its own path.
  const placed = new Map<string, Map<string, number>>();
  const fragmentPaths = (name: string): Map<string, number> => {
    const known = placed.get(name);
    if (known) return known;
    const paths = new Map<string, number>();
    placed.set(name, paths); // a cycle (refused by validation later) sees it empty
    const fragment = fragments.get(name);
    if (fragment) addPaths(fragment.selectionSet, '', paths);
    return paths;
  };
  const addPaths = (selectionSet: SelectionSetNode, prefix: string, into: Map<string, number>) => {
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        const path = `${prefix}${(selection.alias ?? selection.name).value}`;
        into.set(path, (into.get(path) ?? 0) + 1);
        if (selection.selectionSet) addPaths(selection.selectionSet, `${path}.`, into);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        addPaths(selection.selectionSet, prefix, into);
      } else {
        for (const [path, count] of fragmentPaths(selection.name.value)) into.set(`${prefix}${path}`, (into.get(`${prefix}${path}`) ?? 0) + count);
      }
    }
  };
  let pairs = 0;
  const add = (count: number) => {
    pairs += count;
    if (pairs > limits.overlappingFields) throw new QueryLimitError('overlappingFields', limits.overlappingFields, pairs);
  };
  for (const operation of operations) {
    const paths = new Map<string, number>();
    addPaths(operation.selectionSet, '', paths);
    for (const count of paths.values()) add((count * (count - 1)) / 2);
  }

  // Validation also compares every two fragments spread side by side in one selection set, and
  // then each with the fragments the other spreads (remembering pairs done): the same walk here,
  // counting pairs instead of comparing fields, stopped as soon as the count is over the limit.
  const spreadIn = new Map<SelectionSetNode, string[]>();
  const spreadsOf = (selectionSet: SelectionSetNode): string[] => {
    let names = spreadIn.get(selectionSet);
    if (names) return names;
    const found = new Set<string>();
    const collect = (set: SelectionSetNode) => {
      for (const selection of set.selections) {
        if (selection.kind === Kind.FRAGMENT_SPREAD) found.add(selection.name.value);
        else if (selection.kind === Kind.INLINE_FRAGMENT) collect(selection.selectionSet);
      }
    };
    collect(selectionSet);
    names = [...found];
    spreadIn.set(selectionSet, names);
    return names;
  };
  const referenced = (name: string): string[] => {
    const fragment = fragments.get(name);
    return fragment ? spreadsOf(fragment.selectionSet) : [];
  };
  const compared = new Set<string>();
  const compare = (a: string, b: string) => {
    if (a === b) return;
    const key = a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`;
    if (compared.has(key)) return;
    compared.add(key);
    add(1);
    for (const name of referenced(b)) compare(a, name);
    for (const name of referenced(a)) compare(name, b);
  };
  const walkSpreads = (selectionSet: SelectionSetNode) => {
    const names = spreadsOf(selectionSet);
    for (let i = 0; i < names.length; i++) for (let j = i + 1; j < names.length; j++) compare(names[i]!, names[j]!);
    for (const selection of selectionSet.selections) if (selection.kind !== Kind.FRAGMENT_SPREAD && selection.selectionSet) walkSpreads(selection.selectionSet);
  };
  for (const definition of definitions) if (definition.kind === Kind.OPERATION_DEFINITION || definition.kind === Kind.FRAGMENT_DEFINITION) walkSpreads(definition.selectionSet);
}

/** Accepted documents are remembered, so a repeated query is not measured again; refused ones are not kept. */
const ACCEPTED_MAX = 2000;
const ACCEPTED_TEXT_MAX = 10_000;

/** The limits as the gateway applies them to each request: documents (remembered once accepted) and variables. */
export class DocumentLimits {
  private readonly accepted = new LRUCache<string, true>({ max: ACCEPTED_MAX });

  constructor(readonly limits: QueryLimits) {}

  /** Throws QueryLimitError when the document exceeds a limit. */
  check(text: string): void {
    if (this.accepted.has(text)) return;
    checkQueryLimits(text, this.limits);
    if (text.length > ACCEPTED_TEXT_MAX) return;
    this.accepted.set(text, true);
  }

  /**
   * Throws QueryLimitError for variables nested deeper than any input type reaches: they would go
   * on to recursive code (the cache key's hashing, coercion, the subgraph request's JSON).
   */
  checkVariables(variables: unknown): void {
    const depth = jsonDepth(variables);
    if (depth > MAX_NESTING) throw new QueryLimitError('depth', this.limits.depth, depth);
  }
}

/** How deep a JSON value nests (iteratively: the value may be nested deeper than the stack allows). */
export function jsonDepth(value: unknown): number {
  let deepest = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop()!;
    if (item === null || typeof item !== 'object') continue;
    deepest = Math.max(deepest, depth + 1);
    if (deepest > MAX_NESTING) return deepest;
    for (const child of Array.isArray(item) ? item : Object.values(item)) if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
  }
  return deepest;
}
