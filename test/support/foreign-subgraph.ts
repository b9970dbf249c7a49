// A subgraph that is not ours (Apollo's standalone server, in the test process) and the supergraph
// a gateway process runs from to reach it: for tests of the gateway alone.
import { composeServices } from '@apollo/composition';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/index.js';
import { type DocumentNode, parse } from 'graphql';

export interface ForeignSubgraph {
  url: string;
  /** The supergraph SDL with this subgraph at `url` (default: where it listens). */
  supergraph(url?: string): string;
  stop(): Promise<void>;
}

export async function startForeignSubgraph(name: string, typeDefs: DocumentNode, resolvers: GraphQLResolverMap<unknown>): Promise<ForeignSubgraph> {
  const server = new ApolloServer({ schema: buildSubgraphSchema({ typeDefs, resolvers }) });
  const { url } = await startStandaloneServer(server, { listen: { port: 0, host: '127.0.0.1' } });
  return {
    url,
    supergraph: (at = url) => {
      const result = composeServices([{ name, url: at, typeDefs }]);
      if (result.errors) throw result.errors[0];
      return result.supergraphSdl;
    },
    stop: () => server.stop(),
  };
}

/**
 * An inventory subgraph whose `slow` field answers (7) only when the test releases it: each call
 * pushes its release onto `held`, so a test can keep requests in flight across a signal.
 */
export function startInventorySubgraph(held: Array<() => void>): Promise<ForeignSubgraph> {
  return startForeignSubgraph(
    'inventory',
    parse(`
      extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
      type Query { warehouses: [Warehouse!]! slow: Int! }
      type Warehouse @key(fields: "code") { code: ID! city: String! }
    `),
    {
      Query: {
        warehouses: () => [{ code: 'AMS', city: 'Amsterdam' }, { code: 'LIS', city: 'Lisbon' }],
        slow: () => new Promise((resolve) => held.push(() => resolve(7))),
      },
    },
  );
}
