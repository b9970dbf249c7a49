import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, parseEnv } from './env.js';
import { startTracing, tracing, tracingConfig, tracingEnv } from './tracing.js';

/** What a service's config module does with the tracing variables. */
const config = (env: Record<string, string>) => ({ tracing: tracingConfig(parseEnv(z.object(tracingEnv), env)) });

describe('tracing configuration', () => {
  it('is off unless OTEL_EXPORTER_OTLP_ENDPOINT is set (an empty value counts as unset)', () => {
    expect(config({}).tracing).toBeNull();
    expect(config({ OTEL_EXPORTER_OTLP_ENDPOINT: '' }).tracing).toBeNull();
    expect(config({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).tracing).toEqual({ endpoint: 'http://collector:4318', scheduleDelayMs: 5000 });
    expect(config({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_BSP_SCHEDULE_DELAY: '250' }).tracing?.scheduleDelayMs).toBe(250);
  });

  it('rejects an endpoint that is not an http(s) URL and a bad delay, with the others', () => {
    let error: unknown;
    try {
      config({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318', OTEL_BSP_SCHEDULE_DELAY: 'soon' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const name of ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_BSP_SCHEDULE_DELAY']) expect(problems).toContain(name);
  });

  it('startTracing(null) starts nothing: no hooks for the services', async () => {
    expect(await startTracing(null, 'users')).toBeNull();
    expect(tracing()).toBeNull();
  });
});
