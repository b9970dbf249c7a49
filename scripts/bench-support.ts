// What the bench:* scripts share: autocannon runs that keep every latency, and percentiles. (Their
// graph, processes and fresh seeded database come from @commerce/harness, as the tests' do.)
import autocannon from 'autocannon';

export interface Sample {
  requests: number;
  seconds: number;
  latencies: number[];
  failures: number;
}

export interface LoadOptions {
  url: string;
  connections: number;
  seconds: number;
  headers?: Record<string, string>;
  /** The same body every time, or a fresh one per request. */
  body: string | (() => string);
}

/** autocannon for `seconds`, keeping every latency; a non-200 is a failure. */
export function load(options: LoadOptions): Promise<Sample> {
  const latencies: number[] = [];
  let failures = 0;
  const { body } = options;
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const instance = autocannon(
      {
        url: options.url,
        method: 'POST',
        connections: options.connections,
        duration: options.seconds,
        headers: { 'content-type': 'application/json', ...options.headers },
        ...(typeof body === 'string' ? { body } : { requests: [{ setupRequest: (request: Record<string, unknown>) => ({ ...request, body: body() }) }] }),
      } as autocannon.Options,
      (error, result) => {
        if (error) reject(error);
        else resolve({ requests: latencies.length, seconds: (performance.now() - started) / 1000, latencies, failures: failures + result.errors + result.timeouts });
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
export function summarize(samples: Sample[]): { rps: number; p50: number; p95: number; requests: number; failures: number } {
  const latencies = samples.flatMap((s) => s.latencies).sort((a, b) => a - b);
  const requests = samples.reduce((n, s) => n + s.requests, 0);
  const seconds = samples.reduce((n, s) => n + s.seconds, 0);
  return { rps: requests / seconds, p50: percentile(latencies, 50), p95: percentile(latencies, 95), requests, failures: samples.reduce((n, s) => n + s.failures, 0) };
}
