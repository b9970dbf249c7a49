// The gateway's HTTP client for subgraph fetches: one undici Agent (keep-alive connections, at most
// `connections` per subgraph) instead of the global fetch, which builds a WHATWG Request, Headers,
// a Response with web streams and a transferable AbortSignal for every call, and asks for a
// compressed answer. Here a body goes out as the string the caller made and comes back as text,
// parsed once by the caller; no Accept-Encoding is sent, so the internal hop is never compressed
// (compressing and inflating on one machine, or one network, costs more than it saves).
import { EventEmitter } from 'node:events';
import { Agent } from 'undici';

/** What a subgraph answered, before any parsing. */
export interface SubgraphAnswer {
  status: number;
  contentType: string | null;
  cacheControl: string | null;
  text: string;
}

export interface SubgraphHttpOptions {
  /** Connections kept per subgraph (origin); requests beyond them wait for one. */
  connections: number;
}

/** The error an attempt fails with when its time is up (a TimeoutError, as fetch's AbortSignal.timeout gives). */
export class SubgraphTimeoutError extends Error {
  override readonly name = 'TimeoutError';
  constructor(ms: number) {
    super(`the subgraph did not answer within ${ms} ms`);
  }
}

/**
 * undici takes any emitter with `aborted` and `reason` as a signal: this one costs a timer, where
 * an AbortSignal.timeout costs a transferable, a weak reference and a DOMException.
 *
 * Timers run before the loop reads its sockets: when the loop is busy, the timer can fire while the
 * answer already sits unread in the socket. The abort therefore waits one turn of the loop
 * (setImmediate runs after the poll phase), so an answer that came in time is taken, not thrown
 * away as a timeout (for a mutation that would make its outcome unknown).
 */
class Deadline extends EventEmitter {
  aborted = false;
  reason: Error | undefined;
  private readonly timer: NodeJS.Timeout;
  private immediate: NodeJS.Immediate | undefined;

  constructor(ms: number) {
    super();
    this.timer = setTimeout(() => {
      this.immediate = setImmediate(() => {
        this.aborted = true;
        this.reason = new SubgraphTimeoutError(ms);
        this.emit('abort');
      });
    }, ms);
  }

  clear(): void {
    clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
  }
}

const one = (value: string | string[] | undefined): string | null => (value === undefined ? null : Array.isArray(value) ? (value[0] ?? null) : value);

export class SubgraphHttp {
  private readonly agent: Agent;

  constructor(options: SubgraphHttpOptions) {
    this.agent = new Agent({ connections: options.connections, keepAliveTimeout: 4000, keepAliveMaxTimeout: 60_000 });
  }

  /** POSTs `body` (JSON) to `url`; rejects with SubgraphTimeoutError after `timeoutMs`, or with undici's error when the subgraph cannot be reached. */
  async post(url: URL, headers: Record<string, string>, body: string, timeoutMs: number): Promise<SubgraphAnswer> {
    const deadline = new Deadline(timeoutMs);
    try {
      const response = await this.agent.request({ origin: url.origin, path: `${url.pathname}${url.search}`, method: 'POST', headers, body, signal: deadline });
      const text = await response.body.text();
      return { status: response.statusCode, contentType: one(response.headers['content-type']), cacheControl: one(response.headers['cache-control']), text };
    } catch (error) {
      throw deadline.reason ?? error;
    } finally {
      deadline.clear();
    }
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}
