import { describe, expect, it } from 'vitest';
import { errorCodeOf } from './testing.js';
import { decodeCursor, encodeCursor } from './cursor.js';


describe('cursors', () => {
  it('round-trip their values and are opaque url-safe strings', () => {
    const cursor = encodeCursor('products:name:asc', ['Deluxe Kettle', '3eef3226-99df-5405-b9a1-c2c1de627182']);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{10}$/);
    expect(cursor).not.toContain('Kettle');
    expect(decodeCursor(cursor, 'products:name:asc', ['string', 'string'])).toEqual(['Deluxe Kettle', '3eef3226-99df-5405-b9a1-c2c1de627182']);
    const dated = encodeCursor('orders', ['2025-03-01T10:00:00.000Z', 'id-1']);
    expect(decodeCursor(dated, 'orders', ['date', 'string'])).toEqual(['2025-03-01T10:00:00.000Z', 'id-1']);
  });

  it('reject an edited body even when it still decodes', () => {
    const cursor = encodeCursor('products:priceCents:asc', [1999, 'a']);
    const [, sum] = cursor.split('.');
    const forged = `${Buffer.from(JSON.stringify(['products:priceCents:asc', 1, 'a'])).toString('base64url')}.${sum}`;
    expect(errorCodeOf(() => decodeCursor(forged, 'products:priceCents:asc', ['number', 'string']))).toBe('BAD_USER_INPUT');
  });

  it('reject a cursor of another list or order, or with values of the wrong type', () => {
    const cursor = encodeCursor('products:priceCents:asc', [1999, 'a']);
    expect(errorCodeOf(() => decodeCursor(cursor, 'products:priceCents:desc', ['number', 'string']))).toBe('BAD_USER_INPUT');
    expect(errorCodeOf(() => decodeCursor(cursor, 'products:priceCents:asc', ['string', 'string']))).toBe('BAD_USER_INPUT');
    expect(errorCodeOf(() => decodeCursor(cursor, 'products:priceCents:asc', ['number']))).toBe('BAD_USER_INPUT');
    const badDate = encodeCursor('orders', ['yesterday', 'a']);
    expect(errorCodeOf(() => decodeCursor(badDate, 'orders', ['date', 'string']))).toBe('BAD_USER_INPUT');
  });

  it('reject garbage without throwing anything but BAD_USER_INPUT', () => {
    for (const garbage of ['', 'abc', 'a.b', '....', '%%%.0123456789', 'x'.repeat(5000), `${Buffer.from('not json').toString('base64url')}.0123456789`]) {
      expect(errorCodeOf(() => decodeCursor(garbage, 'orders', ['date', 'string']))).toBe('BAD_USER_INPUT');
    }
  });
});
