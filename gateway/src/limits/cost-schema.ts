// The demand-control directives of a schema (`@cost`, `@listSize`: the IBM cost directive
// specification, https://ibm.github.io/graphql-specs/cost-spec.html, as Federation 2.9 composes it
// into the supergraph under `@link(url: "https://specs.apollo.dev/cost/v0.1")`), read once into
// tables the cost walk looks fields up in. The API schema Apollo validates against has them
// stripped (they are a linked feature), so the gateway reads them from the supergraph it runs.
import { buildSchema, type ConstDirectiveNode, type ConstValueNode, type GraphQLNamedType, type GraphQLSchema, isInterfaceType, isObjectType, Kind } from 'graphql';

/** `@listSize` on a field: how many items it returns, from its arguments or assumed. */
export interface ListSize {
  /** Used when no slicing argument is given (null: the walk's default list size). */
  assumedSize: number | null;
  /** Arguments whose value is the size (the largest given wins), e.g. `first`, `last`. */
  slicingArguments: readonly string[];
  /** Fields of the returned object that hold the items (a connection's `edges`); none: the field itself is the list. */
  sizedFields: ReadonlySet<string>;
}

export interface FieldCost {
  /** `@cost(weight:)` on the field, else on the type it returns; undefined: the specification's default. */
  weight: number | undefined;
  listSize: ListSize | undefined;
}

export interface CostSchema {
  /** The schema to walk operations against (the supergraph: the API's types, fields and arguments, and more). */
  schema: GraphQLSchema;
  field(type: string, field: string): FieldCost | undefined;
  /** Every argument name some `@listSize` slices by: variables passed to them change a cost. */
  slicingArguments: ReadonlySet<string>;
}

const COST_SPEC = /^https:\/\/specs\.apollo\.dev\/cost\/v\d+\.\d+$/;

/**
 * The names `@cost` and `@listSize` have in this schema: as its `@link` to the cost specification
 * imports or prefixes them (a supergraph: `@cost`, and `@listSize` imported, or `@cost__listSize`),
 * else their plain names (a schema that declares the directives itself).
 */
function directiveNames(schema: GraphQLSchema): { cost: string; listSize: string } {
  const links = [schema.astNode, ...schema.extensionASTNodes].flatMap((node) => node?.directives ?? []).filter((directive) => directive.name.value === 'link');
  for (const link of links) {
    const url = argument(link, 'url');
    if (typeof url !== 'string' || !COST_SPEC.test(url)) continue;
    const as = argument(link, 'as');
    const prefix = typeof as === 'string' ? as : 'cost';
    const imported = new Map<string, string>();
    const imports = link.arguments?.find((candidate) => candidate.name.value === 'import')?.value;
    for (const item of imports?.kind === Kind.LIST ? imports.values : []) {
      if (item.kind === Kind.STRING) imported.set(item.value.replace(/^@/, ''), item.value.replace(/^@/, ''));
      if (item.kind === Kind.OBJECT) {
        const field = (name: string) => item.fields.find((candidate) => candidate.name.value === name)?.value;
        const name = field('name');
        const renamed = field('as');
        if (name?.kind === Kind.STRING) imported.set(name.value.replace(/^@/, ''), (renamed?.kind === Kind.STRING ? renamed.value : name.value).replace(/^@/, ''));
      }
    }
    return { cost: imported.get('cost') ?? prefix, listSize: imported.get('listSize') ?? `${prefix}__listSize` };
  }
  return { cost: 'cost', listSize: 'listSize' };
}

function valueOf(node: ConstValueNode | undefined): unknown {
  if (!node) return undefined;
  if (node.kind === Kind.INT) return Number(node.value);
  if (node.kind === Kind.STRING || node.kind === Kind.BOOLEAN) return node.value;
  if (node.kind === Kind.LIST) return node.values.map(valueOf);
  return undefined;
}

function argument(directive: ConstDirectiveNode, name: string): unknown {
  return valueOf(directive.arguments?.find((candidate) => candidate.name.value === name)?.value);
}

function directivesOf(element: { astNode?: { readonly directives?: readonly ConstDirectiveNode[] } | null | undefined; extensionASTNodes?: ReadonlyArray<{ readonly directives?: readonly ConstDirectiveNode[] }> }, name: string): ConstDirectiveNode | undefined {
  return [element.astNode, ...(element.extensionASTNodes ?? [])].flatMap((node) => node?.directives ?? []).find((directive) => directive.name.value === name);
}

function weightOf(directive: ConstDirectiveNode | undefined): number | undefined {
  const weight = directive ? argument(directive, 'weight') : undefined;
  return typeof weight === 'number' && Number.isFinite(weight) ? weight : undefined;
}

const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : []);

/** Reads the directives of a built schema (a supergraph, or any schema that applies them). */
export function costSchemaOf(schema: GraphQLSchema): CostSchema {
  const names = directiveNames(schema);
  const typeWeight = (type: GraphQLNamedType) => weightOf(directivesOf(type, names.cost));
  const fields = new Map<string, FieldCost>();
  const slicingArguments = new Set<string>();
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) && !isInterfaceType(type)) continue;
    for (const field of Object.values(type.getFields())) {
      let named = field.type;
      while ('ofType' in named) named = named.ofType;
      const weight = weightOf(directivesOf(field, names.cost)) ?? typeWeight(named);
      const sizing = directivesOf(field, names.listSize);
      let listSize: ListSize | undefined;
      if (sizing) {
        const assumedSize = argument(sizing, 'assumedSize');
        listSize = {
          assumedSize: typeof assumedSize === 'number' ? assumedSize : null,
          slicingArguments: strings(argument(sizing, 'slicingArguments')),
          sizedFields: new Set(strings(argument(sizing, 'sizedFields'))),
        };
        for (const name of listSize.slicingArguments) slicingArguments.add(name);
      }
      if (weight !== undefined || listSize) fields.set(`${type.name}.${field.name}`, { weight, listSize });
    }
  }
  return { schema, field: (type, field) => fields.get(`${type}.${field}`), slicingArguments };
}

/** The cost schema of a supergraph file's text (the gateway's, at start). */
export function costSchemaOfSdl(sdl: string): CostSchema {
  return costSchemaOf(buildSchema(sdl, { assumeValidSDL: true }));
}
