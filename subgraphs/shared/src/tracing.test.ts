import { describe, expect, it } from 'vitest';
import { subgraphConfig } from './config.js';
import { ConfigError } from './env.js';
import { startTracing, tracing } from './tracing.js';

describe('tracing configuration', () => {
  it('is off unless OTEL_EXPORTER_OTLP_ENDPOINT is set (an empty value counts as unset)', () => {
    expect(subgraphConfig('users', {}).tracing).toBeNull();
    expect(subgraphConfig('users', { OTEL_EXPORTER_OTLP_ENDPOINT: '' }).tracing).toBeNull();
    expect(subgraphConfig('users', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).tracing).toEqual({ endpoint: 'http://collector:4318', scheduleDelayMs: 5000 });
    expect(subgraphConfig('users', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_BSP_SCHEDULE_DELAY: '250' }).tracing?.scheduleDelayMs).toBe(250);
  });

  it('rejects an endpoint that is not an http(s) URL and a bad delay, with the others', () => {
    let error: unknown;
    try {
      subgraphConfig('users', { OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318', OTEL_BSP_SCHEDULE_DELAY: 'soon' });
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
