import { describe, expect, it } from 'vitest';
import { COST_WEIGHTS_REMOVED, gatewayConfig } from './config.js';

describe('gatewayConfig: shutdown and log output', () => {
  it('reads the same SHUTDOWN_* and LOG_BUFFER_BYTES settings as the subgraphs, with the same check', () => {
    const production = { NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32), IDENTITY_PRIVATE_KEY: 'k' };
    expect(gatewayConfig(production)).toMatchObject({ shutdown: { timeoutMs: 10_000, readyDelayMs: 2000 }, logBufferBytes: 1024 * 1024 });
    expect(gatewayConfig({ SHUTDOWN_TIMEOUT_MS: '1500', LOG_BUFFER_BYTES: '65536' })).toMatchObject({ shutdown: { timeoutMs: 1500, readyDelayMs: 0 }, logBufferBytes: 65536 });
    expect(() => gatewayConfig({ ...production, SHUTDOWN_READY_DELAY_MS: '10000' })).toThrow(/SHUTDOWN_TIMEOUT_MS: must be larger than SHUTDOWN_READY_DELAY_MS/);
  });
});

describe('gatewayConfig: APOLLO_TELEMETRY_DISABLED', () => {
  it("turns @apollo/gateway's own usage reporting to Apollo off unless it is set to false", () => {
    expect(gatewayConfig({}).apolloTelemetryDisabled).toBe(true);
    expect(gatewayConfig({ APOLLO_TELEMETRY_DISABLED: 'false' }).apolloTelemetryDisabled).toBe(false);
    expect(gatewayConfig({ APOLLO_TELEMETRY_DISABLED: '1' }).apolloTelemetryDisabled).toBe(true);
  });
});

describe('gatewayConfig: cost weights', () => {
  it('refuses a leftover COST_WEIGHTS, pointing at the @cost / @listSize directives that replaced it', () => {
    expect(() => gatewayConfig({ COST_WEIGHTS: '{"Query.products":2}' })).toThrow(COST_WEIGHTS_REMOVED);
    expect(() => gatewayConfig({ COST_WEIGHTS: '{"Query.products":2}' })).toThrow(/- COST_WEIGHTS: no longer read: weights are @cost and @listSize directives in the subgraph SDLs/);
    expect(() => gatewayConfig({})).not.toThrow();
  });
});

describe('gatewayConfig: GATEWAY_WORKERS', () => {
  it('defaults to one worker', () => {
    expect(gatewayConfig({}).workers).toBe(1);
  });

  it('refuses more than one worker without Redis while budgets or the response cache are on (each worker would keep its own)', () => {
    const refusal = /GATEWAY_WORKERS: more than 1 worker needs REDIS_URL/;
    expect(() => gatewayConfig({ GATEWAY_WORKERS: '2' })).toThrow(refusal);
    expect(() => gatewayConfig({ GATEWAY_WORKERS: '2', CACHE_ENABLED: 'false' })).toThrow(refusal);
    expect(() => gatewayConfig({ GATEWAY_WORKERS: '2', RATE_LIMIT_ENABLED: 'false' })).toThrow(refusal);
  });

  it('accepts them with Redis, or with nothing to share', () => {
    expect(gatewayConfig({ GATEWAY_WORKERS: '2', REDIS_URL: 'redis://127.0.0.1:6379' }).workers).toBe(2);
    expect(gatewayConfig({ GATEWAY_WORKERS: '4', CACHE_ENABLED: 'false', RATE_LIMIT_ENABLED: 'false' }).workers).toBe(4);
    expect(() => gatewayConfig({ GATEWAY_WORKERS: '0' })).toThrow(/GATEWAY_WORKERS/);
  });
});
