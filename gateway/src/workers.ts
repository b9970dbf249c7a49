// GATEWAY_WORKERS > 1: the gateway as a node:cluster. The primary serves nothing itself: it forks
// the workers (each a whole gateway, all accepting on the one port), replaces a worker that dies,
// sums their metrics for whichever worker a scrape reaches, and on SIGTERM/SIGINT stops them all
// and exits 0 once every one has drained. What a worker keeps to itself: its circuit breakers,
// in-flight deduplication and memoized documents; what must be shared (budgets, the response
// cache) is in Redis, which the config insists on (config.ts).
import cluster, { type Worker } from 'node:cluster';
import { constants } from 'node:os';
import { statusLine, stdoutSink } from '@commerce/platform/logger';
import { type Service } from '@commerce/platform/service';
import { shutDown, type ShutdownConfig } from '@commerce/platform/shutdown';
import { AggregatorRegistry, type Registry } from 'prom-client';

type ToPrimary = { type: 'gateway:scrape'; id: number };
type ToWorker = { type: 'gateway:scraped'; id: number; text?: string; error?: string } | { type: 'gateway:stop'; reason: string };

const isMessage = (message: unknown, type: string): boolean => typeof message === 'object' && message !== null && (message as { type?: unknown }).type === type;

/** A worker that dies this soon after it was forked waits this long before it is replaced (no hot crash loop). */
const QUICK_DEATH_MS = 2000;
const RESPAWN_DELAY_MS = 1000;
/** The primary's own deadline comes after the workers' (SHUTDOWN_TIMEOUT_MS), so theirs is the one that cuts and says why. */
const PRIMARY_GRACE_MS = 2000;

export interface PrimaryOptions {
  workers: number;
  port: number;
  host: string;
  shutdown: ShutdownConfig;
  /** Node flags for the workers besides this process's own (heap settings, workers.ts callers). */
  execArgv?: string[];
  log?: (line: string) => void;
}

/** Runs the cluster's primary until a signal has stopped every worker; then exits the process. */
export function runPrimary(options: PrimaryOptions): void {
  const log = options.log ?? statusLine;
  cluster.setupPrimary({ execArgv: [...process.execArgv, ...(options.execArgv ?? [])] });
  // Constructing it installs prom-client's listener for the workers' answers.
  const aggregator = new AggregatorRegistry();
  const forkedAt = new Map<Worker, number>();
  const listening = new Set<Worker>();
  let ready = false;
  let stopping = false;
  const exits: Array<number | null> = [];

  const fork = () => {
    const worker = cluster.fork();
    forkedAt.set(worker, performance.now());
    log(`gateway: worker ${worker.process.pid} started`);
  };

  cluster.on('listening', (worker, address) => {
    listening.add(worker);
    if (!ready && listening.size === options.workers) {
      ready = true;
      const shown = options.host === '0.0.0.0' || options.host === '::' ? 'localhost' : options.host;
      log(`gateway ready at http://${shown}:${address.port}/graphql (${options.workers} workers, primary ${process.pid})`);
    }
  });

  // A scrape reached one worker: it asks here, and gets every worker's registry summed.
  cluster.on('message', (worker, message: unknown) => {
    if (!isMessage(message, 'gateway:scrape')) return;
    const { id } = message as ToPrimary;
    aggregator.clusterMetrics().then(
      (text) => worker.isConnected() && worker.send({ type: 'gateway:scraped', id, text } satisfies ToWorker),
      (error: unknown) => worker.isConnected() && worker.send({ type: 'gateway:scraped', id, error: String(error) } satisfies ToWorker),
    );
  });

  cluster.on('exit', (worker, code, signal) => {
    const lived = performance.now() - (forkedAt.get(worker) ?? 0);
    forkedAt.delete(worker);
    listening.delete(worker);
    if (stopping) {
      exits.push(code);
      if (forkedAt.size === 0) finish();
      return;
    }
    if (!ready) {
      // It could not start (a port taken, a bad supergraph): another would fail alike.
      log(`gateway: worker ${worker.process.pid} exited (${signal ?? code}) before the gateway was ready; stopping`);
      for (const other of forkedAt.keys()) other.process.kill('SIGKILL');
      void stdoutSink().drain(250).then(() => process.exit(1));
      return;
    }
    const delay = lived < QUICK_DEATH_MS ? RESPAWN_DELAY_MS : 0;
    log(`gateway: worker ${worker.process.pid} exited (${signal ?? `code ${code}`}); starting another${delay ? ` in ${delay} ms` : ''}`);
    setTimeout(() => stopping || fork(), delay);
  });

  let deadline: NodeJS.Timeout | undefined;
  const finish = () => {
    clearTimeout(deadline);
    const failed = exits.filter((code) => code !== 0).length;
    log(failed === 0 ? `gateway: every worker stopped` : `gateway: ${failed} of ${exits.length} workers did not stop cleanly; exiting 1`);
    void stdoutSink().drain(1000).then(() => process.exit(failed === 0 ? 0 : 1));
  };

  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      log(`gateway: ${signal} again while stopping; exiting now`);
      for (const worker of forkedAt.keys()) worker.process.kill('SIGKILL');
      process.exit(128 + (constants.signals[signal] ?? 0));
    }
    stopping = true;
    log(`gateway: ${signal}; stopping ${forkedAt.size} workers`);
    if (forkedAt.size === 0) return finish();
    // Asked over IPC, not by a signal: a signal to the whole process group reaches them too, and
    // must count as their first.
    for (const worker of forkedAt.keys()) if (worker.isConnected()) worker.send({ type: 'gateway:stop', reason: signal } satisfies ToWorker);
    deadline = setTimeout(() => {
      log(`gateway: workers still running ${options.shutdown.timeoutMs + PRIMARY_GRACE_MS} ms after ${signal}; killing them, exiting 1`);
      for (const worker of forkedAt.keys()) worker.process.kill('SIGKILL');
      void stdoutSink().drain(250).then(() => process.exit(1));
    }, options.shutdown.timeoutMs + PRIMARY_GRACE_MS);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  for (let i = 0; i < options.workers; i++) fork();
}

/**
 * For a worker: what its GET /metrics answers (the primary's sum over every worker's `registry`,
 * which this makes the one prom-client reports for this process).
 */
export function clusterScrape(registry: Registry): () => Promise<string> {
  AggregatorRegistry.setRegistries([registry]);
  new AggregatorRegistry(); // installs the listener that answers the primary with `registry`
  let next = 0;
  const pending = new Map<number, { resolve: (text: string) => void; reject: (error: Error) => void }>();
  process.on('message', (message: unknown) => {
    if (!isMessage(message, 'gateway:scraped')) return;
    const { id, text, error } = message as Extract<ToWorker, { type: 'gateway:scraped' }>;
    const waiting = pending.get(id);
    pending.delete(id);
    if (error !== undefined || text === undefined) waiting?.reject(new Error(error ?? 'no metrics'));
    else waiting?.resolve(text);
  });
  return () =>
    new Promise<string>((resolve, reject) => {
      const id = next++;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error('the primary did not answer with the metrics within 5 s'));
      }, 5000);
      pending.set(id, {
        resolve: (text) => (clearTimeout(timer), resolve(text)),
        reject: (error) => (clearTimeout(timer), reject(error)),
      });
      process.send!({ type: 'gateway:scrape', id } satisfies ToPrimary);
    });
}

/**
 * For a worker: build the gateway and listen (the primary hands every worker the same port), then
 * stop like a single process (shutdown.ts) when the primary asks, when it is gone, or on a signal
 * of its own. A second signal exits at once; the primary's request does not count as one. Asked
 * to stop before it listens, it has nothing in flight and exits 0 at once.
 */
export async function runWorker(build: () => Promise<Service>, config: { port: number; host: string; shutdown: ShutdownConfig }, log: (line: string) => void = statusLine): Promise<void> {
  const label = `gateway worker ${process.pid}`;
  let service: Service | undefined;
  let stopping = false;
  let signals = 0;
  const stop = (reason: string) => {
    if (stopping) return;
    stopping = true;
    if (!service) process.exit(0);
    void shutDown(label, [service], config.shutdown, reason, log).then((code) => process.exit(code));
  };
  process.on('message', (message: unknown) => {
    if (isMessage(message, 'gateway:stop')) stop(`${(message as { reason: string }).reason} to the primary`);
  });
  process.on('disconnect', () => stop('the primary is gone'));
  const onSignal = (signal: NodeJS.Signals) => {
    if (++signals > 1) {
      log(`${label}: ${signal} again while stopping; exiting now`);
      process.exit(128 + (constants.signals[signal] ?? 0));
    }
    stop(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const built = await build();
  if (stopping) process.exit(0);
  service = built;
  const { url } = await built.listen(config.port, config.host);
  log(`${label} listening at ${url}`);
}
