import { describe, expect, it } from 'vitest';
import { isConnectionLost, isRead } from './database.js';

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
