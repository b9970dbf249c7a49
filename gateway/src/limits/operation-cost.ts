// What an operation costs, computed before execution from the document, its variables and the API
// schema: every object field costs its weight (1 unless overridden), and everything under a
// paginated field is multiplied by the page size asked for (`first`/`last`, from the variables when
// given as one; the default page size when absent). Scalars are free: a wide selection of one row
// costs as much SQL as a narrow one. @apollo/gateway has no cost directives, and graphql-armor's cost
// limit does not weigh page sizes, hence this small walk.
import {
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  getNamedType,
  getNullableType,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLSchema,
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

export interface CostModel {
  /** `Type.field` → weight, replacing the default for that field. */
  weights: Record<string, number>;
  /** Weight of an object field without an override. */
  defaultWeight: number;
  /** Weight of a mutation's root field without an override (writes cost more than reads). */
  mutationWeight: number;
  /** How many items an unpaginated list (e.g. an order's lines) is assumed to hold. */
  listSize: number;
  /** `__schema` / `__type`, whatever they select: introspection is a fixed, cacheable cost. */
  introspectionWeight: number;
}

export const COST_DEFAULTS: CostModel = { weights: {}, defaultWeight: 1, mutationWeight: 10, listSize: 10, introspectionWeight: 10 };

interface Walk {
  schema: GraphQLSchema;
  fragments: Record<string, FragmentDefinitionNode>;
  variables: Record<string, unknown>;
  model: CostModel;
  /**
   * The cost of each fragment's own selection (below the root, where it no longer depends on
   * where it is spread), so a fragment spread a million times through nesting is walked once.
   */
  fragmentCosts: Map<string, number>;
}

/**
 * The page size a paginated field (one that takes `first` or `last`) asks for, clamped to what the
 * subgraphs allow (they reject more); null for other fields.
 */
function pageSize(field: FieldNode, definition: GraphQLField<unknown, unknown>, walk: Walk): number | null {
  if (!definition.args.some((argument) => argument.name === 'first' || argument.name === 'last')) return null;
  let asked: number | null = null;
  for (const argument of field.arguments ?? []) {
    if (argument.name.value !== 'first' && argument.name.value !== 'last') continue;
    const value = valueOf(argument.value, walk.variables);
    if (typeof value === 'number' && Number.isFinite(value)) asked = Math.max(asked ?? 0, value);
  }
  return Math.min(PAGE_SIZE.max, Math.max(0, asked ?? PAGE_SIZE.default));
}

function valueOf(node: ValueNode, variables: Record<string, unknown>): unknown {
  return node.kind === Kind.VARIABLE ? variables[node.name.value] : valueFromASTUntyped(node, variables);
}

function fieldDefinition(type: GraphQLCompositeType, name: string): GraphQLField<unknown, unknown> | undefined {
  return isObjectType(type) || isInterfaceType(type) ? type.getFields()[name] : undefined;
}

function selectionCost(selectionSet: SelectionSetNode, type: GraphQLCompositeType, walk: Walk, seen: ReadonlySet<string>, root: 'query' | 'mutation' | 'subscription' | null): number {
  let total = 0;
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      total += fieldCost(selection, type, walk, seen, root);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      const condition = selection.typeCondition ? walk.schema.getType(selection.typeCondition.name.value) : type;
      total += selectionCost(selection.selectionSet, isCompositeType(condition) ? condition : type, walk, seen, root);
    } else {
      const name = selection.name.value;
      const fragment = walk.fragments[name];
      // Validation has already refused cycles; `seen` only keeps a malformed document finite.
      if (!fragment || seen.has(name)) continue;
      const known = root === null ? walk.fragmentCosts.get(name) : undefined;
      if (known !== undefined) {
        total += known;
        continue;
      }
      const condition = walk.schema.getType(fragment.typeCondition.name.value);
      const cost = selectionCost(fragment.selectionSet, isCompositeType(condition) ? condition : type, walk, new Set([...seen, name]), root);
      if (root === null) walk.fragmentCosts.set(name, cost);
      total += cost;
    }
  }
  return total;
}

function fieldCost(field: FieldNode, parent: GraphQLCompositeType, walk: Walk, seen: ReadonlySet<string>, root: 'query' | 'mutation' | 'subscription' | null): number {
  const name = field.name.value;
  if (name === '__typename') return 0;
  if (name === '__schema' || name === '__type') return walk.model.introspectionWeight;
  const definition = fieldDefinition(parent, name);
  if (!definition) return 0;
  const named = getNamedType(definition.type);
  if (!isCompositeType(named) || !field.selectionSet) return 0;
  const weight = walk.model.weights[`${parent.name}.${name}`] ?? (root === 'mutation' ? walk.model.mutationWeight : walk.model.defaultWeight);
  const page = pageSize(field, definition, walk);
  // A connection's own edges list is the page already counted at the paginated field.
  const inConnection = parent.name.endsWith('Connection');
  const multiplier = page ?? (isListType(getNullableType(definition.type)) && !inConnection ? walk.model.listSize : 1);
  return weight + multiplier * selectionCost(field.selectionSet, named, walk, seen, null);
}

/** The cost of one operation of a validated document. */
export function operationCost(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode, variables: Record<string, unknown> | undefined, model: CostModel = COST_DEFAULTS): number {
  const rootType = schema.getRootType(operation.operation);
  if (!rootType) return 1;
  const fragments: Record<string, FragmentDefinitionNode> = {};
  for (const definition of document.definitions) if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments[definition.name.value] = definition;
  const walk: Walk = { schema, fragments, variables: variables ?? {}, model, fragmentCosts: new Map() };
  return Math.max(1, Math.ceil(selectionCost(operation.selectionSet, rootType, walk, new Set(), operation.operation)));
}

/** The variables a document's page sizes are read from (any `first`/`last` argument that names one). */
function pageVariables(document: DocumentNode): string[] {
  const names = new Set<string>();
  visit(document, {
    Argument(node) {
      if (node.name.value !== 'first' && node.name.value !== 'last') return false;
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
 * the values of the variables its page sizes name, so each combination is walked once. Apollo
 * hands out one DocumentNode per distinct query text (its document store), so a repeated query
 * finds its costs by object identity; documents it forgets take their costs with them.
 */
export class OperationCosts {
  private readonly remembered = new WeakMap<GraphQLSchema, WeakMap<DocumentNode, Map<OperationDefinitionNode, Remembered>>>();

  constructor(private readonly model: CostModel = COST_DEFAULTS) {}

  costOf(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode, variables: Record<string, unknown> | undefined): number {
    let documents = this.remembered.get(schema);
    if (!documents) this.remembered.set(schema, (documents = new WeakMap()));
    let operations = documents.get(document);
    if (!operations) documents.set(document, (operations = new Map()));
    let known = operations.get(operation);
    if (!known) operations.set(operation, (known = { reads: pageVariables(document), costs: new LRUCache({ max: PAGE_COMBINATIONS }) }));
    const key = known.reads.length === 0 ? '' : JSON.stringify(known.reads.map((name) => variables?.[name] ?? null));
    let cost = known.costs.get(key);
    if (cost === undefined) {
      cost = operationCost(schema, document, operation, variables, this.model);
      known.costs.set(key, cost);
    }
    return cost;
  }
}
