import { configOrExit, runUntilSignal, subgraphConfig } from '@commerce/subgraph-kit';
import { startTracing } from '@commerce/platform/tracing';
import { createProductsServer } from './server.js';

const config = configOrExit(() => subgraphConfig('products'));
await startTracing(config.tracing, 'products'); // before the server is built: it picks the hooks up then
await runUntilSignal(await createProductsServer(config), config);
