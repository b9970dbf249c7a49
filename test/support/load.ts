// Sustained load from a fixed number of concurrent workers, each sending the same request in a
// loop and keeping every response (status, body, latency), so a test can judge each one.
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

export function startLoad(url: string, request: { query: string; headers?: Record<string, string> }, concurrency: number): Load {
  const outcomes: Outcome[] = [];
  let stopped = false;
  const worker = async () => {
    while (!stopped) {
      const sentAt = Date.now();
      const started = performance.now();
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...request.headers },
          body: JSON.stringify({ query: request.query }),
          signal: AbortSignal.timeout(15_000),
        });
        const text = await response.text();
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
