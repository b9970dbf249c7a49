// npm run compose: rewrites schema/supergraph.graphql and schema/api.graphql from the subgraph SDLs.
import { writeFileSync } from 'node:fs';
import { composeSupergraph, schemaFile } from './composition.js';

try {
  const { supergraphSdl, apiSdl } = composeSupergraph();
  writeFileSync(schemaFile('supergraph.graphql'), supergraphSdl);
  writeFileSync(schemaFile('api.graphql'), apiSdl);
  console.log('wrote schema/supergraph.graphql and schema/api.graphql');
} catch (error) {
  console.error((error as Error).message);
  process.exit(1);
}
