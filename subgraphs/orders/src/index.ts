import { configOrExit, runUntilSignal, subgraphConfig } from '@commerce/subgraph-kit';
import { startTracing } from '@commerce/platform/tracing';
import { createOrdersServer } from './server.js';

const config = configOrExit(() => subgraphConfig('orders'));
await startTracing(config.tracing, 'orders'); // before the server is built: it picks the hooks up then
await runUntilSignal(await createOrdersServer(config), config);
