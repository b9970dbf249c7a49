// What an operation costs, computed before execution from the document, its variables and the
// `@cost` / `@listSize` directives of the supergraph (cost-schema.ts), the way the IBM cost
// directive specification and Apollo Router's demand control count (docs/adr/0006-cost-directives.md
// says where we differ): a field costs its `@cost` weight (else its type's; else 1 for an object,
// interface or union and 0 for a scalar or enum) plus the cost of its selection, times the number
// of items when it is a list. That number is a slicing argument's value (`first`/`last`, from the
// variables when given as one), the field's `assumedSize` when none is given, or, for a connection's
// `sizedFields` (`edges`), the size of the connection above it. Scalars are free unless weighed: a
// wide selection of one row costs as much SQL as a narrow one.
import {
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  getNamedType,
  getNullableType,
  type GraphQLCompositeType,
  type GraphQLField,
  isCompositeType,
  isInterfaceType,
  isListType,
  isObjectType,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
  valueFromASTUntyped,
  visit,
} from 'graphql';
import { LRUCache } from 'lru-cache';
import { PAGE_SIZE } from '@commerce/platform/page-size';
import type { CostSchema, ListSize } from './cost-schema.js';

export interface CostModel {
  /** How many items a list without `@listSize` (or one asking for no size) is assumed to hold. */
  listSize: number;
  /** The most a slicing argument counts for: the subgraphs refuse larger pages, so none is served. */
  maxSliceSize: number;
  /** `__schema` / `__type`, whatever they select: introspection is a fixed, cacheable cost. */
  introspectionWeight: number;
}

export const COST_DEFAULTS: CostModel = { listSize: 10, maxSliceSize: PAGE_SIZE.max, introspectionWeight: 10 };

/** The size a `@listSize` field passes to its `sizedFields` (a connection to its `edges`). */
interface Sizing {
  size: number | null;
  sizedFields: ReadonlySet<string>;
  /** Identifies the sizing in the fragment memo. */
  key: string;
}

interface Walk {
  costs: CostSchema;
  fragments: Record<string, FragmentDefinitionNode>;
  variables: Record<string, unknown>;
  model: CostModel;
  /**
   * The cost of each fragment's selection, by fragment and the sizing it is spread under (the only
   * thing outside a fragment its cost depends on), so a fragment spread a million times through
   * nesting is walked once.
   */
  fragmentCosts: Map<string, number>;
}

function valueOf(node: ValueNode, variables: Record<string, unknown>): unknown {
  return node.kind === Kind.VARIABLE ? variables[node.name.value] : valueFromASTUntyped(node, variables);
}

/**
 * How many items a `@listSize` field asks for: the largest slicing argument given (or defaulted in
 * the schema), clamped to what the subgraphs serve; else its `assumedSize`; null when neither.
 */
function expectedSize(field: FieldNode, definition: GraphQLField<unknown, unknown>, listSize: ListSize, walk: Walk): number | null {
  let asked: number | null = null;
  for (const name of listSize.slicingArguments) {
    const given = field.arguments?.find((argument) => argument.name.value === name);
    const value = given ? valueOf(given.value, walk.variables) : definition.args.find((argument) => argument.name === name)?.defaultValue;
    if (typeof value === 'number' && Number.isFinite(value)) asked = Math.max(asked ?? 0, value);
  }
  if (asked !== null) return Math.min(walk.model.maxSliceSize, Math.max(0, asked));
  return listSize.assumedSize;
}

function fieldDefinition(type: GraphQLCompositeType, name: string): GraphQLField<unknown, unknown> | undefined {
  return isObjectType(type) || isInterfaceType(type) ? type.getFields()[name] : undefined;
}

function selectionCost(selectionSet: SelectionSetNode, type: GraphQLCompositeType, walk: Walk, seen: ReadonlySet<string>, sizing: Sizing | null): number {
  let total = 0;
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      total += fieldCost(selection, type, walk, seen, sizing);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      const condition = selection.typeCondition ? walk.costs.schema.getType(selection.typeCondition.name.value) : type;
      total += selectionCost(selection.selectionSet, isCompositeType(condition) ? condition : type, walk, seen, sizing);
    } else {
      const name = selection.name.value;
      const fragment = walk.fragments[name];
      // Validation has already refused cycles; `seen` only keeps a malformed document finite.
      if (!fragment || seen.has(name)) continue;
      const key = `${name}\n${sizing?.key ?? ''}`;
      let cost = walk.fragmentCosts.get(key);
      if (cost === undefined) {
        const condition = walk.costs.schema.getType(fragment.typeCondition.name.value);
        cost = selectionCost(fragment.selectionSet, isCompositeType(condition) ? condition : type, walk, new Set([...seen, name]), sizing);
        walk.fragmentCosts.set(key, cost);
      }
      total += cost;
    }
  }
  return total;
}

function fieldCost(field: FieldNode, parent: GraphQLCompositeType, walk: Walk, seen: ReadonlySet<string>, sizing: Sizing | null): number {
  const name = field.name.value;
  if (name === '__typename') return 0;
  if (name === '__schema' || name === '__type') return walk.model.introspectionWeight;
  const definition = fieldDefinition(parent, name);
  if (!definition) return 0;
  const named = getNamedType(definition.type);
  const directives = walk.costs.field(parent.name, name);
  const size = directives?.listSize ? expectedSize(field, definition, directives.listSize, walk) : null;
  const sizedHere = sizing && sizing.sizedFields.has(name) ? sizing.size : null;
  const instances = isListType(getNullableType(definition.type)) ? (sizedHere ?? size ?? walk.model.listSize) : 1;
  const weight = directives?.weight ?? (isCompositeType(named) ? 1 : 0);
  let below = 0;
  if (field.selectionSet && isCompositeType(named)) {
    const listSize = directives?.listSize;
    const passed: Sizing | null = listSize && listSize.sizedFields.size > 0 ? { size, sizedFields: listSize.sizedFields, key: `${size}:${[...listSize.sizedFields].join(',')}` } : null;
    below = selectionCost(field.selectionSet, named, walk, seen, passed);
  }
  return instances * (weight + below);
}

/** The cost of one operation of a validated document. */
export function operationCost(costs: CostSchema, document: DocumentNode, operation: OperationDefinitionNode, variables: Record<string, unknown> | undefined, model: CostModel = COST_DEFAULTS): number {
  const rootType = costs.schema.getRootType(operation.operation);
  if (!rootType) return 1;
  const fragments: Record<string, FragmentDefinitionNode> = {};
  for (const definition of document.definitions) if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments[definition.name.value] = definition;
  const walk: Walk = { costs, fragments, variables: variables ?? {}, model, fragmentCosts: new Map() };
  return Math.max(1, Math.ceil(selectionCost(operation.selectionSet, rootType, walk, new Set(), null)));
}

/** The variables a document's list sizes are read from (any slicing argument that names one). */
function sizeVariables(document: DocumentNode, slicingArguments: ReadonlySet<string>): string[] {
  const names = new Set<string>();
  visit(document, {
    Argument(node) {
      if (!slicingArguments.has(node.name.value)) return false;
      visit(node.value, { Variable: (variable) => void names.add(variable.name.value) });
      return false;
    },
  });
  return [...names].sort();
}

interface Remembered {
  /** What the cost depends on besides the document: these variables' values. */
  reads: string[];
  costs: LRUCache<string, number>;
}

/** Page-size combinations remembered per operation (a client paging through one list asks for a few). */
const PAGE_COMBINATIONS = 64;

/**
 * operationCost, remembered: the cost is a function of the schema, the document, the operation and
 * the values of the variables its slicing arguments name, so each combination is walked once.
 * Apollo hands out one DocumentNode per distinct query text (its document store), so a repeated
 * query finds its costs by object identity; documents it forgets take their costs with them, and
 * each operation keeps at most PAGE_COMBINATIONS of them.
 */
export class OperationCosts {
  private readonly remembered = new WeakMap<DocumentNode, Map<OperationDefinitionNode, Remembered>>();

  constructor(
    private readonly costs: CostSchema,
    private readonly model: CostModel = COST_DEFAULTS,
  ) {}

  costOf(document: DocumentNode, operation: OperationDefinitionNode, variables: Record<string, unknown> | undefined): number {
    let operations = this.remembered.get(document);
    if (!operations) this.remembered.set(document, (operations = new Map()));
    let known = operations.get(operation);
    if (!known) operations.set(operation, (known = { reads: sizeVariables(document, this.costs.slicingArguments), costs: new LRUCache({ max: PAGE_COMBINATIONS }) }));
    const key = known.reads.length === 0 ? '' : JSON.stringify(known.reads.map((name) => variables?.[name] ?? null));
    let cost = known.costs.get(key);
    if (cost === undefined) {
      cost = operationCost(this.costs, document, operation, variables, this.model);
      known.costs.set(key, cost);
    }
    return cost;
  }
}
