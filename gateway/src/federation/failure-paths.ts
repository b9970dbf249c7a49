// Where a failed subgraph fetch leaves holes in the client's response, so each hole gets an error
// at its path: the root fields of a root fetch, or the fields asked of each entity of an entity
// fetch (`_entities`, index, field), which the gateway maps back to the client's paths.
import { type DocumentNode, Kind, parse, type SelectionSetNode } from 'graphql';

type Path = Array<string | number>;

function responseKeys(selectionSet: SelectionSetNode, typename?: string): string[] {
  const keys: string[] = [];
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      if (selection.name.value !== '__typename') keys.push(selection.alias?.value ?? selection.name.value);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      if (!typename || !selection.typeCondition || selection.typeCondition.name.value === typename) keys.push(...responseKeys(selection.selectionSet, typename));
    }
  }
  return [...new Set(keys)];
}

const parsed = new Map<string, DocumentNode>();

/**
 * The fetch's document: the gateway passes it only sometimes, but always sends the operation text;
 * query plans are cached, so the same few texts recur and each is parsed once.
 */
export function fetchDocument(document: DocumentNode | undefined, query: string | undefined): DocumentNode | undefined {
  if (document || !query) return document;
  let found = parsed.get(query);
  if (!found) {
    found = parse(query);
    if (parsed.size >= 1000) parsed.clear();
    parsed.set(query, found);
  }
  return found;
}

/** Paths (relative to the fetch) of the fields a failed fetch would have filled. */
export function failurePaths(document: DocumentNode | undefined, variables: Record<string, unknown> | undefined): Path[] {
  const operation = document?.definitions.find((definition) => definition.kind === Kind.OPERATION_DEFINITION);
  if (operation?.kind !== Kind.OPERATION_DEFINITION) return [];
  const entities = operation.selectionSet.selections.find((selection) => selection.kind === Kind.FIELD && selection.name.value === '_entities');
  if (entities?.kind === Kind.FIELD && entities.selectionSet) {
    const representations = Array.isArray(variables?.representations) ? (variables.representations as Array<{ __typename?: string }>) : [];
    return representations.flatMap((representation, index) =>
      responseKeys(entities.selectionSet!, representation.__typename).map((key) => ['_entities', index, key]),
    );
  }
  return responseKeys(operation.selectionSet).map((key) => [key]);
}

export function operationKind(document: DocumentNode | undefined): string | undefined {
  const operation = document?.definitions.find((definition) => definition.kind === Kind.OPERATION_DEFINITION);
  return operation?.kind === Kind.OPERATION_DEFINITION ? operation.operation : undefined;
}
