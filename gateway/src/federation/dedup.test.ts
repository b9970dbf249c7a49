import type { GatewayExecutor, GatewayGraphQLRequestContext, GatewayInterface } from '@apollo/server-gateway-interface';
import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { Identity } from '@commerce/platform/identity';
import { deduplicatingGateway, Deduplication, InFlight } from './dedup.js';

const counter = () => new Counter({ name: 'deduplicated_requests_total', help: 'h', labelNames: ['direction'] as const, registers: [new Registry()] });
const count = async (dedup: Deduplication, direction: string) => (await dedup.counted.get()).values.find((v) => v.labels.direction === direction)?.value;

/** A gateway whose executions wait until released, counting them. */
function fakeGateway() {
  const started: Array<{ context: GatewayGraphQLRequestContext; release: () => void }> = [];
  const executor: GatewayExecutor = (context) =>
    new Promise((resolve) => {
      started.push({
        context,
        release: () => {
          context.overallCachePolicy.restrict({ maxAge: 30, scope: 'PUBLIC' });
          resolve({ data: { n: started.length } });
        },
      });
    });
  const gateway: GatewayInterface = { load: async () => ({ executor }), onSchemaLoadOrUpdate: () => () => {}, stop: async () => {} };
  return { gateway, started };
}

function policy() {
  const hint: { maxAge?: number; scope?: unknown } = {};
  return Object.assign(hint, {
    restrict(next: { maxAge?: number; scope?: unknown }) {
      if (next.maxAge !== undefined && (hint.maxAge === undefined || next.maxAge < hint.maxAge)) hint.maxAge = next.maxAge;
      if (next.scope !== undefined && hint.scope !== 'PRIVATE') hint.scope = next.scope;
    },
    replace() {},
    policyIfCacheable: () => null,
  });
}

function request(identity: Identity, operation: 'query' | 'mutation' = 'query', variables: Record<string, unknown> = { id: 1 }) {
  return {
    queryHash: 'hash',
    operationName: 'Q',
    operation: { operation },
    request: { variables },
    context: { identity },
    overallCachePolicy: policy(),
  } as unknown as GatewayGraphQLRequestContext & { context: { sharedExecution?: boolean } };
}

const anonymous = (ip: string): Identity => ({ kind: 'anonymous', clientIp: ip });
const alice: Identity = { kind: 'user', userId: 'alice', role: 'USER' };
const bob: Identity = { kind: 'user', userId: 'bob', role: 'USER' };

describe('deduplication', () => {
  it('identical queries in flight share one execution: anonymous callers all together, a user only with themselves', async () => {
    const { gateway, started } = fakeGateway();
    const dedup = new Deduplication(counter());
    const { executor } = await deduplicatingGateway(gateway, dedup).load({ apollo: {} });
    const first = request(anonymous('10.0.0.1'));
    const second = request(anonymous('10.0.0.2'));
    const differentVariables = request(anonymous('10.0.0.1'), 'query', { id: 2 });
    const asAlice = [request(alice), request(alice)];
    const asBob = request(bob);
    const answers = [first, second, differentVariables, ...asAlice, asBob].map((context) => executor!(context));
    expect(started).toHaveLength(4); // anonymous {id:1}, anonymous {id:2}, alice, bob
    for (const { release } of started) release();
    const results = await Promise.all(answers);
    expect(results[1]).toBe(results[0]);
    expect(results[4]).toBe(results[3]);
    expect(results[2]).not.toBe(results[0]);
    expect(second.context.sharedExecution).toBe(true);
    expect(first.context.sharedExecution).toBeUndefined();
    expect({ maxAge: second.overallCachePolicy.maxAge, scope: second.overallCachePolicy.scope }).toEqual({ maxAge: 30, scope: 'PUBLIC' });
    expect(await count(dedup, 'inbound')).toBe(2);
    // Once answered, the next identical query executes again.
    void executor!(request(anonymous('10.0.0.1')));
    expect(started).toHaveLength(5);
  });

  it('with the response cache on, only requests whose lookups read the same store clock share (a purge anywhere in between separates them)', async () => {
    const { gateway, started } = fakeGateway();
    const { executor } = await deduplicatingGateway(gateway, new Deduplication(counter())).load({ apollo: {} });
    const at = (clock: number) => {
      const context = request(anonymous('1.1.1.1'));
      Object.assign(context.context, { cacheReadStartedAt: clock });
      return context;
    };
    const [a, b, c] = [at(7), at(7), at(8)];
    const answers = [a, b, c].map((context) => executor!(context));
    expect(started).toHaveLength(2);
    for (const { release } of started) release();
    const [ra, rb, rc] = await Promise.all(answers);
    expect(rb).toBe(ra);
    expect(rc).not.toBe(ra);
  });

  it('never for mutations, and no read joins work that began before a write', async () => {
    const { gateway, started } = fakeGateway();
    const dedup = new Deduplication(counter());
    const { executor } = await deduplicatingGateway(gateway, dedup).load({ apollo: {} });
    void executor!(request(alice, 'mutation'));
    void executor!(request(alice, 'mutation'));
    expect(started).toHaveLength(2);
    const before = executor!(request(anonymous('1.1.1.1')));
    expect(started).toHaveLength(3);
    started[0]!.release(); // a write ends: the read in flight began before it
    await new Promise((resolve) => setImmediate(resolve));
    const after = executor!(request(anonymous('1.1.1.1')));
    expect(started).toHaveLength(4);
    for (const { release } of started.slice(1)) release();
    expect(await after).not.toBe(await before);
  });

  it('outbound: joined only while the shared work ends by the joiner\'s deadline', async () => {
    const dedup = new Deduplication(counter());
    const fetches = new InFlight<string>(dedup, 'outbound');
    let calls = 0;
    const slow = () => new Promise<string>((resolve) => setTimeout(() => resolve(`answer ${++calls}`), 20));
    const a = fetches.run('k', slow, 1000);
    const b = fetches.run('k', slow, 2000);
    const c = fetches.run('k', slow, 500); // would outlive its own deadline
    expect([a.shared, b.shared, c.shared]).toEqual([false, true, false]);
    expect(await b.promise).toBe(await a.promise);
    await c.promise;
    expect(calls).toBe(2);
    expect(fetches.size).toBe(0);
    expect(await count(dedup, 'outbound')).toBe(1);
  });
});
