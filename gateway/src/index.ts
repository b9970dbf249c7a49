import { configOrExit } from '@commerce/shared/env';
import { runUntilSignal } from '@commerce/shared/service';
import { gatewayConfig } from './config.js';
import { createGatewayServer } from './server.js';

const config = configOrExit(() => gatewayConfig());
const service = await createGatewayServer(config);
await runUntilSignal(service, config, (line) => process.stdout.write(`${line}${line.includes('ready at') ? `\nApollo Sandbox: http://localhost:${config.port}/` : ''}\n`));
