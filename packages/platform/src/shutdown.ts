// How a process of ours stops on SIGTERM/SIGINT, and the settings for it. One owner for signals:
// Apollo Server's own handler is off (stopOnTerminationSignals: false in service.ts), so nothing
// else stops the server, ignores a later signal or kills the process behind our back.
//
//   signal ─ /ready 503 ─ (SHUTDOWN_READY_DELAY_MS, still serving) ─ stop accepting, close idle
//   keep-alive connections, let requests in flight finish ─ onStop ─ stdout drained (bounded) ─ exit 0
//
// all within SHUTDOWN_TIMEOUT_MS of the signal; past it, the connections still open are cut and
// the process exits 1. A second signal exits at once (128 + its number).
import { constants } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { statusLine, stdoutSink } from './logger.js';
import type { Service } from './service.js';

export interface ShutdownConfig {
  /** From the signal to exit. Past it, connections still open are cut and the process exits 1. */
  timeoutMs: number;
  /** How long /ready answers 503 while the service still serves, so load balancers stop sending before it stops listening. */
  readyDelayMs: number;
}

export const SHUTDOWN_TIMEOUT_DEFAULT_MS = 10_000;
/** One readiness-probe interval in production (load balancers must see 503 first); nothing to wait for elsewhere. */
export const readyDelayDefaultMs = (nodeEnv: string): number => (nodeEnv === 'production' ? 2000 : 0);

export const shutdownEnv = {
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(SHUTDOWN_TIMEOUT_DEFAULT_MS),
  SHUTDOWN_READY_DELAY_MS: z.coerce.number().int().min(0).max(300_000).optional(),
};

type ShutdownEnv = { NODE_ENV: string } & z.infer<z.ZodObject<typeof shutdownEnv>>;

export function shutdownConfigOf(env: ShutdownEnv): ShutdownConfig {
  return { timeoutMs: env.SHUTDOWN_TIMEOUT_MS, readyDelayMs: env.SHUTDOWN_READY_DELAY_MS ?? readyDelayDefaultMs(env.NODE_ENV) };
}

/** For the configs' refine: the drain comes after the ready delay, so the timeout must leave room for it. */
export const shutdownFits = (env: ShutdownEnv): boolean => {
  const { timeoutMs, readyDelayMs } = shutdownConfigOf(env);
  return timeoutMs > readyDelayMs;
};
export const SHUTDOWN_FITS_ISSUE = {
  path: ['SHUTDOWN_TIMEOUT_MS'],
  message: 'must be larger than SHUTDOWN_READY_DELAY_MS (which defaults to 2000 with NODE_ENV=production): requests are drained after the delay, within the timeout',
};

/** The most the last log lines may hold up an exit that went well (bounded by the timeout too). */
const STDOUT_DRAIN_MS = 1000;
/** ... and one that did not, to get the line saying why out. */
const LAST_WORDS_MS = 250;

/**
 * Stops `services` in the order given (the embedded graph: gateway first) within `config.timeoutMs`;
 * resolves with the exit code (0 stopped, 1 timed out or failed). Never rejects.
 */
export async function shutDown(label: string, services: readonly Service[], config: ShutdownConfig, reason: string, log: (line: string) => void = statusLine): Promise<number> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  for (const service of services) service.markStopping();
  log(`${label}: ${reason}; /ready answers 503${config.readyDelayMs > 0 ? `, draining in ${config.readyDelayMs} ms` : ', draining'}, exit within ${config.timeoutMs} ms`);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(resolve, config.timeoutMs, 'timeout');
  });
  const stopped = (async () => {
    if (config.readyDelayMs > 0) await sleep(config.readyDelayMs);
    for (const service of services) await service.stop();
  })().then(
    () => 'stopped' as const,
    (error: unknown) => ({ error }),
  );
  const outcome = await Promise.race([stopped, deadline]);
  clearTimeout(timer);
  if (outcome === 'timeout') {
    const inFlight = services.reduce((sum, service) => sum + service.inFlight, 0);
    for (const service of services) service.cut();
    log(`${label}: shutdown timed out after ${config.timeoutMs} ms with ${inFlight} request(s) in flight; connections cut, exiting 1`);
    await stdoutSink().drain(LAST_WORDS_MS);
    return 1;
  }
  if (outcome !== 'stopped') {
    log(`${label}: stop failed after ${elapsed()} ms: ${String(outcome.error)}; exiting 1`);
    await stdoutSink().drain(LAST_WORDS_MS);
    return 1;
  }
  log(`${label}: stopped in ${elapsed()} ms`);
  await stdoutSink().drain(Math.min(STDOUT_DRAIN_MS, config.timeoutMs - elapsed()));
  return 0;
}

/**
 * The process's one handler for SIGINT and SIGTERM: the first shuts `services()` down and exits
 * with shutDown's code; a second exits at once with 128 + its number.
 */
export function stopOnSignals(label: string, services: () => readonly Service[], config: ShutdownConfig, log: (line: string) => void = statusLine): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      log(`${label}: ${signal} again while stopping; exiting now`);
      process.exit(128 + (constants.signals[signal] ?? 0));
    }
    stopping = true;
    void shutDown(label, services(), config, signal, log).then((code) => process.exit(code));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
