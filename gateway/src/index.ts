import { configOrExit } from '@commerce/shared/env';
import { runUntilSignal } from '@commerce/shared/service';
import { gatewayConfig } from './config.js';
import { createGatewayServer } from './server.js';
import { loadSupergraph } from './supergraph.js';

const config = configOrExit(() => gatewayConfig());
const supergraph = configOrExit(() => loadSupergraph(config.supergraphPath, config.subgraphUrls));
await runUntilSignal(await createGatewayServer(config, supergraph), config);
process.stdout.write(`Apollo Sandbox: http://localhost:${config.port}/\n`);
