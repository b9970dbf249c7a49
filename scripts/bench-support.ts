// What the bench:* scripts share: autocannon runs that keep every latency, and percentiles. (Their
// graph, processes and fresh seeded database come from @commerce/harness, as the tests' do.)
import autocannon from 'autocannon';

export interface Sample {
  requests: number;
  seconds: number;
  latencies: number[];
  failures: number;
  /** The first few bodies counted as failures for their GraphQL errors (with `graphqlErrors`). */
  errorBodies?: string[];
  /** Of the failures: requests unanswered within autocannon's timeout (10 s), and connection errors. */
  timeouts?: number;
  connectionErrors?: number;
}

export interface LoadOptions {
  url: string;
  connections: number;
  seconds: number;
  headers?: Record<string, string>;
  /** The same body every time, these bodies in turn (every connection cycles through them), or a fresh one per request. */
  body: string | string[] | (() => string);
  /** Count a 200 whose body carries GraphQL `errors` as a failure too (autocannon then reads every body). */
  graphqlErrors?: boolean;
}

/** autocannon for `seconds`, keeping every latency; a non-200 is a failure, and so is each of autocannon's errors (its count includes the timeouts). */
export function load(options: LoadOptions): Promise<Sample> {
  const latencies: number[] = [];
  let failures = 0;
  const { body } = options;
  const errorBodies: string[] = [];
  const onResponse = options.graphqlErrors
    ? (status: number, text: string) => {
        if (status !== 200 || !text.includes('"errors"')) return;
        failures++;
        if (errorBodies.length < 3) errorBodies.push(text.slice(0, 600));
      }
    : undefined;
  const requests =
    typeof body === 'string'
      ? onResponse ? { requests: [{ body, onResponse }] } : { body }
      : Array.isArray(body)
        ? { requests: body.map((each) => ({ body: each, ...(onResponse ? { onResponse } : {}) })) }
        : { requests: [{ setupRequest: (request: Record<string, unknown>) => ({ ...request, body: body() }), ...(onResponse ? { onResponse } : {}) }] };
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const instance = autocannon(
      {
        url: options.url,
        method: 'POST',
        connections: options.connections,
        duration: options.seconds,
        headers: { 'content-type': 'application/json', ...options.headers },
        ...requests,
      } as autocannon.Options,
      (error, result) => {
        if (error) reject(error);
        else resolve({ requests: latencies.length, seconds: (performance.now() - started) / 1000, latencies, failures: failures + result.errors, errorBodies, timeouts: result.timeouts, connectionErrors: result.errors - result.timeouts });
      },
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode !== 200) failures++;
      latencies.push(responseTime);
    });
  });
}

export const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

export const rate = (sample: Sample): number => sample.requests / sample.seconds;

/** Rounds of one mode merged: req/s over all of them, latency percentiles over every request. */
export function summarize(samples: Sample[]): { rps: number; p50: number; p90: number; p95: number; p99: number; requests: number; failures: number } {
  const latencies = samples.flatMap((s) => s.latencies).sort((a, b) => a - b);
  const requests = samples.reduce((n, s) => n + s.requests, 0);
  const seconds = samples.reduce((n, s) => n + s.seconds, 0);
  const at = (p: number) => percentile(latencies, p);
  return { rps: requests / seconds, p50: at(50), p90: at(90), p95: at(95), p99: at(99), requests, failures: samples.reduce((n, s) => n + s.failures, 0) };
}
