import type { SqlDriverAdapter, SqlDriverAdapterFactory, SqlQuery } from '@prisma/driver-adapter-utils';
import { describe, expect, it } from 'vitest';
import { isConnectionLost, isRead, routingFactory } from './database.js';
import { readScope } from './replicas.js';

describe('isConnectionLost: which failures a read may be sent again for', () => {
  it('knows a connection the server closed, however the driver and Prisma wrap it', () => {
    expect(isConnectionLost(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }))).toBe(true);
    expect(isConnectionLost({ message: 'DriverAdapterError', cause: { originalCode: '57P01', kind: 'postgres' } })).toBe(true);
    expect(isConnectionLost(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isConnectionLost(new Error('Client has encountered a connection error and is not queryable'))).toBe(true);
    expect(isConnectionLost({ message: 'x', cause: { kind: 'ConnectionClosed' } })).toBe(true);
    expect(isConnectionLost(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))).toBe(true);
  });

  it('leaves everything else alone: constraint violations, syntax errors, timeouts of a live connection', () => {
    expect(isConnectionLost(Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' }))).toBe(false);
    expect(isConnectionLost(Object.assign(new Error('syntax error at or near "SELEC"'), { code: '42601' }))).toBe(false);
    expect(isConnectionLost(Object.assign(new Error('canceling statement due to statement timeout'), { code: '57014' }))).toBe(false);
    expect(isConnectionLost(undefined)).toBe(false);
    const cyclic: { message: string; cause?: unknown } = { message: 'loop' };
    cyclic.cause = cyclic;
    expect(isConnectionLost(cyclic)).toBe(false);
  });
});

describe('isRead: which statements may be sent twice', () => {
  it('plain reads, with or without a WITH', () => {
    expect(isRead('SELECT "products"."id" FROM "products"."products" WHERE id = $1')).toBe(true);
    expect(isRead('\n  WITH page AS (SELECT 1) SELECT * FROM page')).toBe(true);
  });
  it('never a write, a locking read, or a write hidden in a WITH', () => {
    expect(isRead('INSERT INTO outbox (id) VALUES ($1) RETURNING id')).toBe(false);
    expect(isRead('SELECT id FROM outbox WHERE published_at IS NULL FOR UPDATE SKIP LOCKED')).toBe(false);
    expect(isRead('WITH moved AS (UPDATE products SET stock = stock - 1 RETURNING id) SELECT * FROM moved')).toBe(false);
    expect(isRead(undefined)).toBe(false);
  });
});

describe('routingFactory: what goes to a replica', () => {
  /** A stand-in adapter that notes where each call went; `failing` makes its queries throw. */
  function server(name: string, log: string[], failing = false): SqlDriverAdapterFactory {
    const answer = async (method: string, query: SqlQuery) => {
      log.push(`${name} ${method} ${query.sql}`);
      if (failing) throw Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
      return method === 'executeRaw' ? 1 : { columnNames: [], columnTypes: [], rows: [] };
    };
    return {
      provider: 'postgres',
      adapterName: 'test',
      connect: async () =>
        ({
          provider: 'postgres',
          adapterName: 'test',
          queryRaw: (query: SqlQuery) => answer('queryRaw', query),
          executeRaw: (query: SqlQuery) => answer('executeRaw', query),
          executeScript: async (script: string) => void log.push(`${name} executeScript ${script}`),
          startTransaction: async () => {
            log.push(`${name} BEGIN`);
            return { provider: 'postgres', adapterName: 'test', options: { usePhantomQuery: false }, queryRaw: (query: SqlQuery) => answer('tx.queryRaw', query), executeRaw: (query: SqlQuery) => answer('tx.executeRaw', query), commit: async () => {}, rollback: async () => {} };
          },
          dispose: async () => void log.push(`${name} dispose`),
        }) as unknown as SqlDriverAdapter,
    };
  }
  const q = (sql: string): SqlQuery => ({ sql, args: [], argTypes: [] });
  const inScope = <T>(work: () => Promise<T>, failed: unknown[] = []) => readScope.run({ replica: 0, failed: (error) => void failed.push(error) }, work);

  it('inside a read scope: reads to the replica; writes, `… RETURNING` writes in a WITH, locking reads and transactions to the primary', async () => {
    const log: string[] = [];
    const adapter = await routingFactory(server('primary', log), [server('replica', log)]).connect();
    await inScope(async () => {
      await adapter.queryRaw(q('SELECT "id" FROM "products" WHERE "id" = ANY($1)'));
      await adapter.queryRaw(q('WITH key AS (INSERT INTO idempotency_keys (user_id) VALUES ($1) ON CONFLICT DO NOTHING RETURNING order_id) SELECT * FROM key'));
      await adapter.queryRaw(q('UPDATE orders SET status = $1 WHERE id = $2 RETURNING id'));
      await adapter.queryRaw(q('SELECT id FROM products WHERE id = ANY($1) ORDER BY id FOR UPDATE'));
      await adapter.executeRaw(q('DELETE FROM idempotency_keys WHERE created_at < $1'));
      const tx = await adapter.startTransaction();
      await tx.queryRaw(q('SELECT 1'));
    });
    await adapter.queryRaw(q('SELECT 2')); // no scope: the primary
    expect(log).toEqual([
      'replica queryRaw SELECT "id" FROM "products" WHERE "id" = ANY($1)',
      'primary queryRaw WITH key AS (INSERT INTO idempotency_keys (user_id) VALUES ($1) ON CONFLICT DO NOTHING RETURNING order_id) SELECT * FROM key',
      'primary queryRaw UPDATE orders SET status = $1 WHERE id = $2 RETURNING id',
      'primary queryRaw SELECT id FROM products WHERE id = ANY($1) ORDER BY id FOR UPDATE',
      'primary executeRaw DELETE FROM idempotency_keys WHERE created_at < $1',
      'primary BEGIN',
      'primary tx.queryRaw SELECT 1',
      'primary queryRaw SELECT 2',
    ]);
    await adapter.dispose();
    expect(log.slice(-2).sort()).toEqual(['primary dispose', 'replica dispose']);
  });

  it('a read that fails on the replica is reported and answered by the primary', async () => {
    const log: string[] = [];
    const failed: unknown[] = [];
    const adapter = await routingFactory(server('primary', log), [server('replica', log, true)]).connect();
    await inScope(() => adapter.queryRaw(q('SELECT 1')), failed);
    expect(log).toEqual(['replica queryRaw SELECT 1', 'primary queryRaw SELECT 1']);
    expect(failed).toHaveLength(1);
  });
});
