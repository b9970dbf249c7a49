import { describe, expect, it } from 'vitest';
import { EVENT, payloadOf } from './saga-events.js';

const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

describe('saga event payloads', () => {
  it('parses a payload that matches its schema, and hands back exactly it', () => {
    const placed = { orderId: id(1), userId: id(2), lines: [{ productId: id(3), quantity: 2 }] };
    expect(payloadOf(EVENT.orderPlaced, { id: 'e1', payload: placed }, () => {})).toEqual(placed);
    const rejected = { orderId: id(1), reason: 'OUT_OF_STOCK', productId: null };
    expect(payloadOf(EVENT.stockRejected, { id: 'e2', payload: rejected }, () => {})).toEqual(rejected);
  });

  it('refuses half an event, saying what is wrong with it, instead of acting on it', () => {
    const problems: string[] = [];
    const note = (problem: string) => problems.push(problem);
    expect(payloadOf(EVENT.orderPlaced, { id: 'e3', payload: { orderId: id(1), userId: id(2), lines: [] } }, note)).toBeNull();
    expect(payloadOf(EVENT.orderPlaced, { id: 'e4', payload: { orderId: id(1), userId: id(2), lines: [{ productId: id(3), quantity: -1 }] } }, note)).toBeNull();
    expect(payloadOf(EVENT.stockReserved, { id: 'e5', payload: { orderId: 'not-an-id', lines: [{ productId: id(3), quantity: 1, unitPriceCents: 250, currency: 'usd' }] } }, note)).toBeNull();
    expect(payloadOf(EVENT.stockRejected, { id: 'e6', payload: { orderId: id(1), reason: 'BORED', productId: null } }, note)).toBeNull();
    expect(payloadOf(EVENT.orderCancelled, { id: 'e7', payload: 'garbage' }, note)).toBeNull();
    expect(problems).toHaveLength(5);
    expect(problems[0]).toMatch(/^OrderPlaced e3: lines:/);
    expect(problems[1]).toMatch(/lines\.0\.quantity/);
    expect(problems[2]).toMatch(/orderId.*lines\.0\.currency|lines\.0\.currency.*orderId/s);
    expect(problems[3]).toMatch(/reason/);
    expect(problems[4]).toMatch(/^OrderCancelled e7: \(payload\)/);
  });
});
