import { configOrExit, runUntilSignal, subgraphConfig } from '@commerce/subgraph-kit';
import { startTracing } from '@commerce/platform/tracing';
import { createUsersServer } from './server.js';

const config = configOrExit(() => subgraphConfig('users'));
await startTracing(config.tracing, 'users'); // before the server is built: it picks the hooks up then
await runUntilSignal(await createUsersServer(config), config);
