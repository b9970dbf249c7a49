import { configOrExit } from '@commerce/platform/env';
import { statusLine } from '@commerce/platform/logger';
import { runUntilSignal } from '@commerce/platform/service';
import { startTracing } from '@commerce/platform/tracing';
import { gatewayConfig } from './config.js';
import { createGatewayServer } from './server.js';
import { loadSupergraph } from './federation/supergraph.js';

const config = configOrExit(() => gatewayConfig());
await startTracing(config.tracing, 'gateway'); // before the server is built: it picks the hooks up then
const supergraph = configOrExit(() => loadSupergraph(config.supergraphPath, config.subgraphUrls));
await runUntilSignal(await createGatewayServer(config, { supergraph }), config);
statusLine(`Apollo Sandbox: http://localhost:${config.port}/`);
if (config.explorerEnabled) statusLine(`GraphiQL (works offline): http://localhost:${config.port}/graphiql`);
