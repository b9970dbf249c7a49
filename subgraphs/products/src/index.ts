import { configOrExit, runUntilSignal, subgraphConfig } from '@commerce/shared';
import { createProductsServer } from './server.js';

const config = configOrExit(() => subgraphConfig('products'));
await runUntilSignal(await createProductsServer(config), config);
