// Who may introspect the schema: everyone in development (Sandbox), only signed-in users and
// partners in production (the schema is published to partners anyway; anonymous crawlers need not
// map it), or nobody. Refused: HTTP 400, GRAPHQL_VALIDATION_FAILED, as Apollo does with it off.
import type { ApolloServerPlugin } from '@apollo/server';
import type { Identity } from '@commerce/platform/identity';
import { type DocumentNode, GraphQLError, Kind, visit } from 'graphql';

export type IntrospectionPolicy = 'on' | 'authenticated' | 'off';

/** Per document (Apollo hands out one DocumentNode per query text): asked on every request of a policy other than "on". */
const introspecting = new WeakMap<DocumentNode, boolean>();

function introspects(document: DocumentNode): boolean {
  let known = introspecting.get(document);
  if (known === undefined) introspecting.set(document, (known = findsIntrospection(document)));
  return known;
}

function findsIntrospection(document: DocumentNode): boolean {
  let found = false;
  visit(document, {
    Field(node) {
      if (node.name.value === '__schema' || node.name.value === '__type') {
        found = true;
        return false;
      }
      return undefined;
    },
  });
  return found;
}

export function introspectionPlugin<C extends { identity: Identity }>(policy: IntrospectionPolicy): ApolloServerPlugin<C> {
  return {
    async requestDidStart() {
      if (policy === 'on') return {};
      return {
        async didResolveOperation({ document, contextValue }) {
          if (policy === 'authenticated' && contextValue.identity.kind !== 'anonymous') return;
          if (!document || document.definitions.every((d) => d.kind !== Kind.OPERATION_DEFINITION) || !introspects(document)) return;
          throw new GraphQLError(policy === 'off' ? 'Introspection is disabled.' : 'Introspection needs a signed-in user or an API key.', {
            extensions: { code: 'GRAPHQL_VALIDATION_FAILED', http: { status: 400 } },
          });
        },
      };
    },
  };
}
