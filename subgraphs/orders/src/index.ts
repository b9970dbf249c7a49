import { configOrExit, runUntilSignal, subgraphConfig } from '@commerce/shared';
import { createOrdersServer } from './server.js';

const config = configOrExit(() => subgraphConfig('orders'));
await runUntilSignal(await createOrdersServer(config), config);
