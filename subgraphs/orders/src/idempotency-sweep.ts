// Idempotency keys are promised for 24 h and kept 48 h; older ones are swept hourly, in the
// background (its SQL is not counted as a request's).
import { type Logger, runInBackground } from '@commerce/subgraph-kit';
import { IDEMPOTENCY_KEEP_MS, type OrdersRepository } from './repository.js';

export function startIdempotencySweep(repository: OrdersRepository, logger: Logger, everyMs = 3600_000): { stop(): void } {
  const sweep = setInterval(() => {
    runInBackground(() => repository.forgetIdempotencyKeys(new Date(Date.now() - IDEMPOTENCY_KEEP_MS))).catch((error: unknown) => logger.warn({ err: String(error) }, 'idempotency key sweep failed'));
  }, everyMs);
  sweep.unref();
  return { stop: () => clearInterval(sweep) };
}
