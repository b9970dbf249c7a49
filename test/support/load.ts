// Sustained load from a fixed number of concurrent workers, each sending the same request in a
// loop and keeping every response (status, body, latency), so a test can judge each one.
import { Agent, type IncomingHttpHeaders, request as httpRequest } from 'node:http';
import type { Socket } from 'node:net';

export interface Outcome {
  /** When the request was sent (Date.now()). */
  sentAt: number;
  /** When the answer (or the failure) came back. */
  at: number;
  latencyMs: number;
  /** HTTP status, or 0 when no HTTP answer came (connection refused, reset, 15 s client timeout). */
  status: number;
  body: any;
  failure?: string;
}

export interface Load {
  outcomes: Outcome[];
  /** Resolves once `count` answers have come back (the graph is warm), or throws after `withinMs`. */
  warmedUp(count: number, withinMs?: number): Promise<void>;
  /** Stops sending and waits for the requests in flight. */
  stop(): Promise<Outcome[]>;
}

/** How a load worker sends one POST: fetch by default, or a client of the test's own (keepAliveClient). */
export type Send = (url: string, body: string, headers: Record<string, string>) => Promise<{ status: number; text: string }>;

const fetchSend: Send = async (url, body, headers) => {
  const response = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(15_000) });
  return { status: response.status, text: await response.text() };
};

export function startLoad(url: string, request: { query: string; headers?: Record<string, string> }, concurrency: number, send: Send = fetchSend): Load {
  const outcomes: Outcome[] = [];
  let stopped = false;
  const worker = async () => {
    while (!stopped) {
      const sentAt = Date.now();
      const started = performance.now();
      try {
        const response = await send(url, JSON.stringify({ query: request.query }), { 'content-type': 'application/json', ...request.headers });
        const text = response.text;
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // kept as text: the test reports it
        }
        outcomes.push({ sentAt, at: Date.now(), latencyMs: performance.now() - started, status: response.status, body });
      } catch (error) {
        outcomes.push({ sentAt, at: Date.now(), latencyMs: performance.now() - started, status: 0, body: null, failure: String((error as Error).cause ?? error) });
      }
    }
  };
  const workers = Array.from({ length: concurrency }, worker);
  return {
    outcomes,
    warmedUp: async (count, withinMs = 30_000) => {
      const deadline = Date.now() + withinMs;
      while (outcomes.length < count) {
        if (Date.now() > deadline) throw new Error(`load: only ${outcomes.length} of ${count} answers within ${withinMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    stop: async () => {
      stopped = true;
      await Promise.all(workers);
      return outcomes;
    },
  };
}

export const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
};

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/** HTTP/1.1 keep-alive connections the test can count: which are open, which the server closed. */
export interface KeepAliveClient {
  send: Send;
  /**
   * Starts a POST on one of the client's connections. With `holdBack`, its body but the last
   * `holdBack` bytes is sent once the server has taken the request (it answers `Expect:
   * 100-continue`, which `accepted` waits for), and `finish()` sends the rest: a request the
   * server is still receiving is in flight for as long as the test likes.
   */
  begin(url: string, body: string, options?: { holdBack?: number; headers?: Record<string, string> }): { response: Promise<Answer>; accepted: Promise<void>; finish(): void };
  /** Connections open right now. */
  open(): number;
  close(): void;
}

export function keepAliveClient(connections: number): KeepAliveClient {
  const agent = new Agent({ keepAlive: true, maxSockets: connections, maxFreeSockets: connections });
  const sockets = new Set<Socket>();
  const begin: KeepAliveClient['begin'] = (url, body, { holdBack = 0, headers = {} } = {}) => {
    const bytes = Buffer.from(body);
    const request = httpRequest(url, {
      method: 'POST',
      agent,
      headers: { 'content-type': 'application/json', ...headers, 'content-length': bytes.length, ...(holdBack > 0 ? { expect: '100-continue' } : {}) },
    });
    request.on('socket', (socket) => {
      if (sockets.has(socket)) return;
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
    const response = new Promise<Answer>((resolve, reject) => {
      request.setTimeout(15_000, () => request.destroy(new Error('client timeout')));
      request.once('error', reject);
      request.once('response', (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.once('error', reject);
        answer.once('end', () => resolve({ status: answer.statusCode ?? 0, headers: answer.headers, text: Buffer.concat(chunks).toString() }));
      });
    });
    response.catch(() => {}); // observed by the caller when it cares
    let accepted: Promise<void>;
    if (holdBack > 0) {
      accepted = new Promise((resolve, reject) => {
        request.once('continue', () => {
          request.write(bytes.subarray(0, bytes.length - holdBack));
          resolve();
        });
        response.catch(reject);
      });
      request.flushHeaders();
    } else {
      request.end(bytes);
      accepted = Promise.resolve();
    }
    return { response, accepted, finish: () => void (holdBack > 0 && request.end(bytes.subarray(bytes.length - holdBack))) };
  };
  return {
    send: (url, body, headers) => begin(url, body, { headers }).response,
    begin,
    open: () => sockets.size,
    close: () => agent.destroy(),
  };
}
