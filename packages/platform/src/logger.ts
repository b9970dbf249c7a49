// Logs go to stdout through ONE process-wide sink that never blocks serving: a stalled or vanished
// reader costs dropped (and counted) lines, never a stalled request or a process that cannot exit.
//
// Why not pino's default destination: sonic-boom in sync mode writes fd 1 itself and, when the pipe
// is full (EAGAIN) or gone (EPIPE), sleeps ~100 ms with Atomics.wait and writes again, for ever,
// on the main thread; its exit hook (on-exit-leak-free) flushes synchronously too.
//
// What process.stdout is on Linux in Node 20 (checked): a pipe or socket is a libuv stream in
// non-blocking mode, so a write never blocks but what the reader has not taken piles up in
// writableLength without bound, and after EPIPE it stays not writable (every later write errors);
// a file is a SyncWriteStream (blocking writes to disk, which always progress); a TTY is blocking
// (a terminal paused with Ctrl-S would stall writes: a developer's terminal, not a log shipper).
// So the sink writes through process.stdout and bounds what may wait in it: past the bound, or once
// stdout is no longer writable, a line is dropped. process.exit() does not flush a pipe, and
// nothing here registers an exit hook, so exiting never waits on a reader.
import { pino, type Logger } from 'pino';

export type { Logger };

/** How much log output may wait for a slow reader before lines are dropped (LOG_BUFFER_BYTES). */
export const LOG_BUFFER_DEFAULT_BYTES = 1024 * 1024;

export class LogSink {
  #dropped = 0;
  /** Past this many characters waiting in the stream, lines are dropped. */
  limit = LOG_BUFFER_DEFAULT_BYTES;

  constructor(private readonly out: NodeJS.WritableStream & { writable: boolean; writableLength: number }) {
    // EPIPE and friends arrive here and in each write's callback, where they are counted.
    out.on('error', () => {});
  }

  /** Lines that never reached the stream: dropped while it was full or closed, or lost in a failed write. */
  get dropped(): number {
    return this.#dropped;
  }

  /** pino's destination interface: one call per line, newline included. */
  write(line: string): boolean {
    const { out } = this;
    if (!out.writable || out.writableLength + line.length > this.limit) {
      this.#dropped += 1;
      return false;
    }
    out.write(line, this.#written);
    return true;
  }

  #written = (error?: Error | null): void => {
    if (error) this.#dropped += 1;
  };

  /**
   * Resolves true once everything written so far has reached the stream's reader, or false after
   * `withinMs` (a reader that does not read) or when the stream cannot take more. Never throws.
   */
  drain(withinMs: number): Promise<boolean> {
    const { out } = this;
    if (out.writableLength === 0) return Promise.resolve(true);
    if (!out.writable || withinMs <= 0) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), withinMs);
      // An empty write's callback runs once every chunk before it was written (or failed).
      out.write('', (error?: Error | null) => {
        clearTimeout(timer);
        resolve(!error);
      });
    });
  }
}

const SINK = Symbol.for('commerce.stdoutLogSink');
type Holder = typeof globalThis & { [SINK]?: LogSink };

/** The process's one sink on stdout (npm start runs four services in one process; tests load modules more than once). */
export function stdoutSink(): LogSink {
  const holder = globalThis as Holder;
  return (holder[SINK] ??= new LogSink(process.stdout));
}

/** Lines dropped so far in this process (0 when nothing was logged yet). */
export const droppedLogLines = (): number => (globalThis as Holder)[SINK]?.dropped ?? 0;

/** A plain status line ("users ready at …") through the same sink, so it can neither block nor pile up. */
export function statusLine(line: string): void {
  stdoutSink().write(`${line}\n`);
}

/** JSON logs, one logger per service; never logs authorization headers or tokens. */
export function createLogger(service: string, level: string, options: { bufferBytes?: number; /** Fields on every line besides `service` (a worker's pid). */ base?: Record<string, unknown> } = {}): Logger {
  const sink = stdoutSink();
  if (options.bufferBytes !== undefined) sink.limit = options.bufferBytes;
  return pino(
    {
      name: service,
      level,
      base: { service, ...options.base },
      redact: { paths: ['req.headers.authorization', 'req.headers["x-api-key"]', 'headers.authorization', 'token'], remove: true },
    },
    sink,
  );
}
