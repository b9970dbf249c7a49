// Stock @apollo/gateway in @apollo/server's standalone server, as the public gateway benchmarks run
// it and as its documentation starts it: nothing added. The same package versions as our gateway
// (the root's devDependencies pin them to the gateway's). SUPERGRAPH_PATH and PORT from the
// environment; prints "stock ready at <url>".
import { readFileSync } from 'node:fs';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';

const gateway = new ApolloGateway({ supergraphSdl: readFileSync(process.env.SUPERGRAPH_PATH!, 'utf8') });
const server = new ApolloServer({ gateway });
const { url } = await startStandaloneServer(server, { listen: { port: Number(process.env.PORT ?? 0), host: '127.0.0.1' } });
process.stdout.write(`stock ready at ${url}\n`);
