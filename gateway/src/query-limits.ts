// Static limits on a GraphQL document, checked before Apollo validates it: validation itself is
// where alias and fragment bombs do their damage (overlapping-fields checks are quadratic), so the
// document is measured first, in one pass per operation and fragment, from the parsed text alone.
// A rejection names the limit: HTTP 400, code QUERY_LIMIT_EXCEEDED, extensions.limit / max / found.
import { type DefinitionNode, type FragmentDefinitionNode, GraphQLError, Kind, parse, type SelectionSetNode } from 'graphql';

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
}

export const QUERY_LIMIT_DEFAULTS: QueryLimits = { tokens: 5000, depth: 12, aliases: 30, rootFields: 20, directivesPerNode: 5, directives: 50 };

export type LimitName = keyof QueryLimits | 'cost';

/** HTTP 400, code QUERY_LIMIT_EXCEEDED; `extensions.limit` names the limit, `max` its value. */
export class QueryLimitError extends GraphQLError {
  constructor(readonly limit: LimitName, readonly max: number, readonly found: number | null, whose = 'the') {
    super(found === null ? `The operation exceeds ${whose} ${limit} limit of ${max}.` : `The operation exceeds ${whose} ${limit} limit of ${max} (found ${found}).`, {
      extensions: { code: 'QUERY_LIMIT_EXCEEDED', limit, max, ...(found === null ? {} : { found }), http: { status: 400 } },
    });
  }
}

interface Measure {
  depth: number;
  aliases: number;
}

/**
 * Throws QueryLimitError for the first limit the document exceeds; returns normally when it is
 * within them or is not valid GraphQL (Apollo then reports the syntax error itself).
 */
export function checkQueryLimits(text: string, limits: QueryLimits): void {
  let definitions: readonly DefinitionNode[];
  try {
    definitions = parse(text, { maxTokens: limits.tokens, noLocation: true }).definitions;
  } catch (error) {
    if (error instanceof GraphQLError && /contains more th\w+ \d+ tokens/.test(error.message)) throw new QueryLimitError('tokens', limits.tokens, null);
    return;
  }
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of definitions) if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);

  let directives = 0;
  const countDirectives = (node: { directives?: readonly unknown[] }) => {
    const here = node.directives?.length ?? 0;
    if (here > limits.directivesPerNode) throw new QueryLimitError('directivesPerNode', limits.directivesPerNode, here);
    directives += here;
    if (directives > limits.directives) throw new QueryLimitError('directives', limits.directives, directives);
  };

  // Each fragment is measured once (a fragment used 2^30 times through nesting is still one walk);
  // a fragment in a cycle measures 0 here and is refused by validation afterwards.
  const measured = new Map<string, Measure | 'visiting'>();
  const fragmentMeasure = (name: string): Measure => {
    const known = measured.get(name);
    if (known === 'visiting') return { depth: 0, aliases: 0 };
    if (known) return known;
    const fragment = fragments.get(name);
    if (!fragment) return { depth: 0, aliases: 0 };
    measured.set(name, 'visiting');
    const result = selectionMeasure(fragment.selectionSet);
    measured.set(name, result);
    return result;
  };
  const selectionMeasure = (selectionSet: SelectionSetNode): Measure => {
    let depth = 0;
    let aliases = 0;
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        if (selection.alias) aliases += 1;
        if (selection.name.value === '__schema' || selection.name.value === '__type') continue;
        if (selection.selectionSet) {
          const inner = selectionMeasure(selection.selectionSet);
          depth = Math.max(depth, inner.depth + 1);
          aliases += inner.aliases;
        } else {
          depth = Math.max(depth, 1);
        }
      } else {
        const inner = selection.kind === Kind.INLINE_FRAGMENT ? selectionMeasure(selection.selectionSet) : fragmentMeasure(selection.name.value);
        depth = Math.max(depth, inner.depth);
        aliases += inner.aliases;
      }
      if (aliases > limits.aliases) throw new QueryLimitError('aliases', limits.aliases, aliases);
    }
    return { depth, aliases };
  };

  // Directives are counted once per place they are written (every node of the document).
  const walkDirectives = (selectionSet: SelectionSetNode) => {
    for (const selection of selectionSet.selections) {
      countDirectives(selection);
      if (selection.kind !== Kind.FRAGMENT_SPREAD && selection.selectionSet) walkDirectives(selection.selectionSet);
    }
  };

  for (const definition of definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) {
      countDirectives(definition);
      walkDirectives(definition.selectionSet);
    }
    if (definition.kind !== Kind.OPERATION_DEFINITION) continue;
    countDirectives(definition);
    walkDirectives(definition.selectionSet);
    const { depth } = selectionMeasure(definition.selectionSet);
    const roots = definition.selectionSet.selections.filter((selection) => selection.kind === Kind.FIELD).length;
    if (roots > limits.rootFields) throw new QueryLimitError('rootFields', limits.rootFields, roots);
    if (depth > limits.depth) throw new QueryLimitError('depth', limits.depth, depth);
  }
}
