// Composes the three subgraph SDLs into the supergraph the gateway runs from, and the public API
// schema partners code against. `npm run compose` writes both; a test fails when either drifts.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { composeServices } from '@apollo/composition';
import { parse, printSchema } from 'graphql';

export const SUBGRAPH_URLS = {
  users: 'http://localhost:4001/graphql',
  products: 'http://localhost:4002/graphql',
  orders: 'http://localhost:4003/graphql',
} as const;

export const schemaFile = (name: string): string => join(import.meta.dirname, name);

export function composeSupergraph(): { supergraphSdl: string; apiSdl: string } {
  const result = composeServices(
    Object.entries(SUBGRAPH_URLS).map(([name, url]) => ({ name, url, typeDefs: parse(readFileSync(schemaFile(`${name}.graphql`), 'utf8')) })),
  );
  if (result.errors) throw new Error(`composition failed:\n${result.errors.map((e) => `  - ${e.message}`).join('\n')}`);
  return {
    supergraphSdl: `${result.supergraphSdl.trimEnd()}\n`,
    apiSdl: `${printSchema(result.schema.toAPISchema().toGraphQLJSSchema())}\n`,
  };
}
