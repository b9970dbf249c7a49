// How long a request may still take, end to end. The gateway sends each subgraph fetch the time it
// has left (retries included) as `x-deadline-ms`; a service turns that into an absolute deadline
// for the request's work (AsyncLocalStorage, so a pool deep inside the database driver sees it
// without every call passing it on) and forwards what is left on its own calls. A service may only
// shorten a deadline, never extend it.
import { AsyncLocalStorage } from 'node:async_hooks';
import { readFileSync } from 'node:fs';
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';

export const DEADLINE_HEADER = 'x-deadline-ms';

/**
 * The same deadline as a point in time, with the clock it is read on: `<epoch ms>; clock=<boot id>`.
 * A request can wait unread for a while after it was sent (behind a busy event loop: in `npm start`
 * all four services share one), and a receiver counting the remaining milliseconds from when it
 * read the request would then think it has longer than its caller will wait. Processes on one
 * machine (one kernel boot: containers included) share one realtime clock, so there the point in
 * time is exact; across machines the clocks may differ, and only the milliseconds count.
 */
export const DEADLINE_AT_HEADER = 'x-deadline-at';

/** This kernel's boot id (Linux): processes that see the same one read the same realtime clock. */
const CLOCK: string | undefined = (() => {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
})();

/** The headers that hand `leftMs` milliseconds (from now) on to a call. */
export function deadlineHeaders(leftMs: number, now = Date.now()): Record<string, string> {
  const left = Math.max(1, Math.floor(leftMs));
  return CLOCK ? { [DEADLINE_HEADER]: String(left), [DEADLINE_AT_HEADER]: `${now + left}; clock=${CLOCK}` } : { [DEADLINE_HEADER]: String(left) };
}

/**
 * Kept back from what a caller grants, for the answer's way back (serializing, the network, the
 * caller's own event loop) and for a statement that started just before the deadline: work ends
 * this much before the caller stops waiting (a tenth of the time granted, at least 50 ms), plus
 * how late this process's event loop has recently been (`loopDelay`): a request read from a busy
 * loop waited about that long unseen before it was read, and its answer waits about as long again
 * before it is written. That part is at most another tenth: one slow moment (a start, a long
 * collection) must not eat a short deadline whole.
 */
export const deadlineMargin = (grantedMs: number, loopDelayMs = 0): number => Math.max(50, Math.round(grantedMs / 10)) + Math.round(Math.min(loopDelayMs, grantedMs / 10));

/** How often the loop delay window turns over. */
const LOOP_WINDOW_MS = 500;
let loopMonitor: IntervalHistogram | undefined;
let lastWindowMax = 0;

/**
 * The most this process's event loop was late (ms) over the last half second or so: the larger of
 * the window just ended and the one running. Started on first use; its timer never holds the
 * process open.
 */
export function loopDelay(): number {
  if (!loopMonitor) {
    loopMonitor = monitorEventLoopDelay({ resolution: 10 });
    loopMonitor.enable();
    setInterval(() => {
      lastWindowMax = loopMonitor!.max / 1e6;
      loopMonitor!.reset();
    }, LOOP_WINDOW_MS).unref();
  }
  const running = loopMonitor.count > 0 ? loopMonitor.max / 1e6 : 0;
  // The histogram counts a 10 ms resolution tick as 10 ms late's worth of sampling: only the excess is delay.
  return Math.max(0, Math.max(lastWindowMax, running) - 10);
}

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

const first = (header: string | string[] | undefined): string | undefined => (Array.isArray(header) ? header[0] : header);

/**
 * The absolute deadline (epoch ms) a request that arrived at `arrivedAt` carries in its headers,
 * less the margin: the milliseconds it was granted counted from its arrival, or, when it was sent
 * on this machine's clock, the point in time it names if that is sooner. Undefined when it carries
 * no deadline (or one that is not a number of milliseconds).
 */
export function deadlineFrom(headers: Record<string, string | string[] | undefined>, arrivedAt: number): number | undefined {
  const value = first(headers[DEADLINE_HEADER]);
  if (value === undefined || !/^\d{1,9}$/.test(value.trim())) return undefined;
  const granted = Number(value);
  const margin = deadlineMargin(granted, loopDelay());
  const relative = arrivedAt + Math.max(0, granted - margin);
  const at = CLOCK ? /^(\d{1,15}); clock=(\S+)$/.exec(first(headers[DEADLINE_AT_HEADER])?.trim() ?? '') : null;
  return at && at[2] === CLOCK ? Math.min(relative, Math.max(arrivedAt, Number(at[1]) - margin)) : relative;
}

const store = new AsyncLocalStorage<number | undefined>();

/** Runs `work` with `deadline` (or the one already in force, if that is sooner). */
export function withDeadline<T>(deadline: number | undefined, work: () => T): T {
  const current = store.getStore();
  const sooner = deadline === undefined ? current : current === undefined ? deadline : Math.min(current, deadline);
  return store.run(sooner, work);
}

/**
 * Runs `work` for several callers at once (one read shared by many, fresh-batches.ts): under the
 * latest of their deadlines, or none if one of them has none, in place of the deadline in force
 * (which is only the first caller's). Each caller still bounds its own wait.
 */
export function withLatestDeadline<T>(deadlines: Iterable<number | undefined>, work: () => T): T {
  // (A loop, not Math.max(...): a batch may hold more callers than a call may take arguments.)
  let latest: number | undefined = Number.NEGATIVE_INFINITY;
  for (const deadline of deadlines) {
    if (deadline === undefined) {
      latest = undefined;
      break;
    }
    latest = Math.max(latest, deadline);
  }
  return store.run(latest === Number.NEGATIVE_INFINITY ? undefined : latest, work);
}

/** Runs `work` with no deadline: work the service does on its own (a relay, a consumer), not for a request. */
export const withoutDeadline = <T>(work: () => T): T => store.run(undefined, work);

/** The deadline of the request this code runs for, if it has one. */
export const currentDeadline = (): number | undefined => store.getStore();

/** Milliseconds left before `deadline` (never negative); Infinity without one. */
export const timeLeft = (deadline: number | undefined = currentDeadline()): number => (deadline === undefined ? Number.POSITIVE_INFINITY : Math.max(0, deadline - Date.now()));
