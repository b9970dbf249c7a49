import { setFlagsFromString } from 'node:v8';
import { configOrExit } from '@commerce/platform/env';
import { statusLine } from '@commerce/platform/logger';
import { runUntilSignal } from '@commerce/platform/service';
import { startTracing } from '@commerce/platform/tracing';
import { gatewayConfig } from './config.js';
import { createGatewayServer } from './server.js';
import { loadSupergraph } from './federation/supergraph.js';
import { loadPersistedDocuments } from './cache/persisted-documents.js';
import { DocumentLimits } from './limits/query-limits.js';

// Under load the gateway promotes short-lived request data (many requests in flight at once), and
// V8 lets the old generation grow up to four times what is live after a full collection: 250-300
// MB of heap over ~100 MB live. Growing it by 30% at most keeps RSS near 240 MB at the same CPU per
// request (docs/benchmarks.md). It is the one heap setting that still applies once V8 runs; the
// young generation's size (--max-semi-space-size) can only be given at start (NODE_OPTIONS).
setFlagsFromString('--heap-growing-percent=30');
const config = configOrExit(() => gatewayConfig());
await startTracing(config.tracing, 'gateway'); // before the server is built: it picks the hooks up then
const supergraph = configOrExit(() => loadSupergraph(config.supergraphPath, config.subgraphUrls));
// A manifest that cannot be read, or lists an operation over the static limits, stops the start here.
const persistedDocuments = configOrExit(() => loadPersistedDocuments(config.persistedDocuments, new DocumentLimits(config.queryLimits)));
await runUntilSignal(await createGatewayServer(config, { supergraph, persistedDocuments }), config);
statusLine(`Apollo Sandbox: http://localhost:${config.port}/`);
if (config.explorerEnabled) statusLine(`GraphiQL (works offline): http://localhost:${config.port}/graphiql`);
