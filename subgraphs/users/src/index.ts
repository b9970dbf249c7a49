import { configOrExit, runUntilSignal, subgraphConfig } from '@commerce/shared';
import { createUsersServer } from './server.js';

const config = configOrExit(() => subgraphConfig('users'));
await runUntilSignal(await createUsersServer(config), config);
