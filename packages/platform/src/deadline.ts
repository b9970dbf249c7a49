// How long a request may still take, end to end. The gateway sends each subgraph fetch the time it
// has left (retries included) as `x-deadline-ms`; a service turns that into an absolute deadline
// for the request's work (AsyncLocalStorage, so a pool deep inside the database driver sees it
// without every call passing it on) and forwards what is left on its own calls. A service may only
// shorten a deadline, never extend it.
import { AsyncLocalStorage } from 'node:async_hooks';

export const DEADLINE_HEADER = 'x-deadline-ms';

/**
 * Kept back from what a caller grants, for the answer's way back (serializing, the network, the
 * caller's own event loop) and for a statement that started just before the deadline: work ends
 * this much before the caller stops waiting (a tenth of the time granted, at least 50 ms).
 */
export const deadlineMargin = (grantedMs: number): number => Math.max(50, Math.round(grantedMs / 10));

/** Thrown when work cannot start or finish before the request's deadline; nothing was done. */
export class DeadlineExceededError extends Error {
  readonly code = 'DEADLINE_EXCEEDED';

  constructor(what: string) {
    super(`${what}: the request's deadline has passed`);
  }
}

/** A DeadlineExceededError, however a library (Prisma, a driver) has wrapped it. */
export function isDeadlineExceeded(error: unknown): boolean {
  const seen = new Set<unknown>();
  for (let current = error as { code?: unknown; cause?: unknown; message?: unknown } | undefined; current && typeof current === 'object' && !seen.has(current); current = current.cause as typeof current) {
    seen.add(current);
    if (current instanceof DeadlineExceededError || current.code === 'DEADLINE_EXCEEDED') return true;
    if (typeof current.message === 'string' && current.message.includes("the request's deadline has passed")) return true;
  }
  return false;
}

/**
 * The absolute deadline (epoch ms) a request that arrived at `arrivedAt` carries in its header, less
 * the margin; undefined when it carries none (or one that is not a number of milliseconds).
 */
export function deadlineFrom(header: string | string[] | undefined, arrivedAt: number): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || !/^\d{1,9}$/.test(value.trim())) return undefined;
  const granted = Number(value);
  return arrivedAt + Math.max(0, granted - deadlineMargin(granted));
}

const store = new AsyncLocalStorage<number | undefined>();

/** Runs `work` with `deadline` (or the one already in force, if that is sooner). */
export function withDeadline<T>(deadline: number | undefined, work: () => T): T {
  const current = store.getStore();
  const sooner = deadline === undefined ? current : current === undefined ? deadline : Math.min(current, deadline);
  return store.run(sooner, work);
}

/** Runs `work` with no deadline: work the service does on its own (a relay, a consumer), not for a request. */
export const withoutDeadline = <T>(work: () => T): T => store.run(undefined, work);

/** The deadline of the request this code runs for, if it has one. */
export const currentDeadline = (): number | undefined => store.getStore();

/** Milliseconds left before `deadline` (never negative); Infinity without one. */
export const timeLeft = (deadline: number | undefined = currentDeadline()): number => (deadline === undefined ? Number.POSITIVE_INFINITY : Math.max(0, deadline - Date.now()));
