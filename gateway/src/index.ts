import cluster from 'node:cluster';
import { setFlagsFromString } from 'node:v8';
import { configOrExit } from '@commerce/platform/env';
import { statusLine } from '@commerce/platform/logger';
import { gatewayConfig } from './config.js';
import { runPrimary } from './workers.js';

// Under load the gateway promotes short-lived request data (many requests in flight at once), and
// V8 lets the old generation grow up to four times what is live after a full collection: 250-300
// MB of heap over ~100 MB live. Growing it by 30% at most keeps RSS near 240 MB at the same CPU per
// request (docs/benchmarks.md). It is the one heap setting that still applies once V8 runs; the
// young generation's size (--max-semi-space-size) can only be given at start (NODE_OPTIONS).
// Set once the gateway is built, not before: while modules load and the supergraph is built the
// heap only grows, and the cap made that cost about 150 ms more collection (bench:start).
const capHeapGrowth = () => setFlagsFromString('--heap-growing-percent=30');
const config = configOrExit(() => gatewayConfig());

if (config.workers > 1 && cluster.isPrimary) {
  // The primary only forks and supervises (workers.ts): it loads none of the gateway's code.
  runPrimary({ workers: config.workers, port: config.port, host: config.host, shutdown: config.shutdown });
} else {
  const [{ startTracing }, { runUntilSignal }, { createGatewayServer }, { loadSupergraph }, { runWorker }, { loadPersistedDocuments }, { DocumentLimits }] = await Promise.all([
    import('@commerce/platform/tracing'),
    import('@commerce/platform/service'),
    import('./server.js'),
    import('./federation/supergraph.js'),
    import('./workers.js'),
    import('./cache/persisted-documents.js'),
    import('./limits/query-limits.js'),
  ]);
  await startTracing(config.tracing, 'gateway'); // before the server is built: it picks the hooks up then
  const supergraph = configOrExit(() => loadSupergraph(config.supergraphPath, config.subgraphUrls));
  // A manifest that cannot be read, or lists an operation over the static limits, stops the start here.
  const persistedDocuments = configOrExit(() => loadPersistedDocuments(config.persistedDocuments, new DocumentLimits(config.queryLimits)));
  const build = async () => {
    const service = await createGatewayServer(config, { supergraph, persistedDocuments });
    capHeapGrowth();
    return service;
  };
  if (cluster.isWorker) {
    await runWorker(build, config);
  } else {
    await runUntilSignal(await build(), config);
    statusLine(`Apollo Sandbox: http://localhost:${config.port}/`);
    if (config.explorerEnabled) statusLine(`GraphiQL (works offline): http://localhost:${config.port}/graphiql`);
  }
}
