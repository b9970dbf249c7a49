import type { GraphQLError, GraphQLResolveInfo } from 'graphql';
import { describe, expect, it } from 'vitest';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { createMetrics, rateLimitedCounter, rateLimitFallbacksCounter } from '@commerce/platform/metrics';
import type { Identity } from '@commerce/platform/identity';
import { fieldRateLimiter, type FieldLimitStore, limitIdentityOf, memoryFieldLimits, windowSeconds } from './field-rate-limit.js';

const SEARCH = { parentType: { name: 'Query' }, fieldName: 'products' } as GraphQLResolveInfo;
const ORDER = { parentType: { name: 'Mutation' }, fieldName: 'placeOrder' } as GraphQLResolveInfo;
const alice: Identity = { kind: 'user', userId: 'alice', role: 'USER' };
const bob: Identity = { kind: 'user', userId: 'bob', role: 'USER' };

function limiter(store: FieldLimitStore | null, timeoutMs = 100) {
  const { registry } = createMetrics('test', { processMetrics: false });
  const rateLimited = rateLimitedCounter(registry);
  const fallbacks = rateLimitFallbacksCounter(registry);
  const errors: unknown[] = [];
  const limit = fieldRateLimiter({ store, rateLimited, fallbacks, timeoutMs, onStoreError: (error) => errors.push(error) });
  const count = async (counter: typeof fallbacks) => (await counter.get()).values.reduce((sum, v) => sum + v.value, 0);
  return { limit, errors, fallbacks: () => count(fallbacks), rateLimited: () => count(rateLimited) };
}

/** Settles `n` calls at once; the admitted ones and the errors of the others. */
async function burst(n: number, call: () => Promise<void>) {
  const outcomes = await Promise.allSettled(Array.from({ length: n }, call));
  return { admitted: outcomes.filter((o) => o.status === 'fulfilled').length, errors: outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as GraphQLError] : [])) };
}

describe('field rate limits', () => {
  it('admits exactly max of many concurrent calls; the rest are RATE_LIMITED with the rule in extensions', async () => {
    const { limit, rateLimited } = limiter(memoryFieldLimits);
    const { admitted, errors } = await burst(100, () => limit({ identity: alice, info: SEARCH }, { max: 60, window: '1m' }));
    expect(admitted).toBe(60);
    expect(errors).toHaveLength(40);
    expect(errors[0]?.message).toBe('Rate limited: Query.products allows 60 calls per 1m.');
    expect(errors[0]?.extensions).toEqual({ code: 'RATE_LIMITED', field: 'Query.products', max: 60, window: '1m' });
    expect(await rateLimited()).toBe(40);
  });

  it('counts per client and per field', async () => {
    const { limit } = limiter(memoryFieldLimits);
    const rule = { max: 2, window: '1m' } as const;
    expect((await burst(3, () => limit({ identity: alice, info: ORDER }, rule))).admitted).toBe(2);
    expect((await burst(3, () => limit({ identity: bob, info: ORDER }, rule))).admitted).toBe(2);
    expect((await burst(3, () => limit({ identity: alice, info: SEARCH }, rule))).admitted).toBe(2);
  });

  it('a window is fixed from the first call: after it, the client has the whole limit again', async () => {
    const { limit } = limiter(memoryFieldLimits);
    const rule = { max: 2, window: '1s' } as const;
    expect((await burst(5, () => limit({ identity: alice, info: ORDER }, rule))).admitted).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await burst(5, () => limit({ identity: alice, info: ORDER }, rule))).admitted).toBe(2);
  });

  it('fails open when the store errs or does not answer in time, and counts each such call', async () => {
    const failing: FieldLimitStore = () => ({ consume: () => Promise.reject(new Error('connection refused')) }) as unknown as RateLimiterAbstract;
    const down = limiter(failing);
    expect((await burst(5, () => down.limit({ identity: alice, info: ORDER }, { max: 1, window: '1m' }))).admitted).toBe(5);
    expect(await down.fallbacks()).toBe(5);
    expect(String(down.errors[0])).toContain('connection refused');

    const hanging: FieldLimitStore = () => ({ consume: () => new Promise(() => {}) }) as unknown as RateLimiterAbstract;
    const slow = limiter(hanging, 20);
    const started = Date.now();
    expect((await burst(3, () => slow.limit({ identity: alice, info: ORDER }, { max: 1, window: '1m' }))).admitted).toBe(3);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await slow.fallbacks()).toBe(3);
    expect(await slow.rateLimited()).toBe(0);
  });

  it('with limits off, never limits', async () => {
    const { limit } = limiter(null);
    expect((await burst(10, () => limit({ identity: alice, info: ORDER }, { max: 1, window: '1m' }))).admitted).toBe(10);
  });

  it('windows are whole seconds, minutes or hours; anything else is a mistake in the rule', () => {
    expect([windowSeconds('30s'), windowSeconds('1m'), windowSeconds('2h')]).toEqual([30, 60, 7200]);
    for (const bad of ['0s', '1.5m', '-1m'] as const) expect(() => windowSeconds(bad)).toThrow(/whole number/);
  });

  it('follows the user, the partner or the anonymous address', () => {
    expect(limitIdentityOf(alice)).toBe('user:alice');
    expect(limitIdentityOf({ kind: 'partner', clientId: 'c1', clientName: 'Shop', tier: 'gold' })).toBe('partner:c1');
    expect(limitIdentityOf({ kind: 'anonymous', clientIp: '203.0.113.9' })).toBe('ip:203.0.113.9');
    expect(limitIdentityOf({ kind: 'anonymous' })).toBe('ip:unknown');
  });
});
