// One storefront subgraph (storefront.ts) as its own process, for bench:gateway: SUBGRAPH names it,
// PORT (default 0) is where it listens; it prints "<name> ready at <url>". Plain node:http in front
// of graphql-js, each document parsed and validated once, and each exact request body answered from
// memory after the first time (the data never changes): what a subgraph costs here is next to
// nothing, so what the benchmark measures is the gateway.
import { createServer } from 'node:http';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/index.js';
import { type DocumentNode, execute, type GraphQLError, parse, validate } from 'graphql';
import { LRUCache } from 'lru-cache';
import { SUBGRAPHS } from './storefront.js';

const definition = SUBGRAPHS.find((subgraph) => subgraph.name === process.env.SUBGRAPH);
if (!definition) throw new Error(`SUBGRAPH must be one of ${SUBGRAPHS.map((subgraph) => subgraph.name).join(', ')}`);
const schema = buildSubgraphSchema({ typeDefs: definition.typeDefs, resolvers: definition.resolvers as GraphQLResolverMap<unknown> });
const documents = new Map<string, DocumentNode | readonly GraphQLError[]>();
const answers = new LRUCache<string, Buffer>({ maxSize: 64 * 1024 * 1024, sizeCalculation: (value, key) => value.length + key.length });

async function answer(raw: string): Promise<Buffer> {
  const { query, variables, operationName } = JSON.parse(raw) as { query: string; variables?: Record<string, unknown>; operationName?: string };
  let document = documents.get(query);
  if (!document) {
    const parsed = parse(query);
    const errors = validate(schema, parsed);
    document = errors.length > 0 ? errors : parsed;
    documents.set(query, document);
  }
  const result = Array.isArray(document) ? { errors: document } : await execute({ schema, document: document as DocumentNode, variableValues: variables, operationName });
  return Buffer.from(JSON.stringify(result));
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const raw = Buffer.concat(chunks).toString('utf8');
    const known = answers.get(raw);
    const send = (body: Buffer) => res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length }).end(body);
    if (known) return send(known);
    answer(raw).then(
      (body) => {
        answers.set(raw, body);
        send(body);
      },
      (error: unknown) => res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ message: String(error) }] })),
    );
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const { port } = server.address() as { port: number };
  process.stdout.write(`${definition.name} ready at http://127.0.0.1:${port}/graphql\n`);
});
process.on('SIGTERM', () => process.exit(0));
