// The seed's promises (docs/operations.md, "The seed"): counts, accounts, and determinism.
import { describe, expect, it } from 'vitest';
import { userIdFor } from './ids.js';
import { CATEGORIES, generateSeed } from './seed-data.js';

describe('the deterministic seed', () => {
  const seed = generateSeed();

  it('has 1,000 users: admin, alice, bob and user0001 … user0997', () => {
    expect(seed.users).toHaveLength(1000);
    expect(new Set(seed.users.map((u) => u.email)).size).toBe(1000);
    expect(seed.users.filter((u) => u.role === 'ADMIN').map((u) => u.email)).toEqual(['admin@example.com']);
    const emails = seed.users.map((u) => u.email);
    expect(emails).toContain('alice@example.com');
    expect(emails).toContain('bob@example.com');
    expect(emails).toContain('user0001@example.com');
    expect(emails).toContain('user0997@example.com');
    expect(emails).not.toContain('user0998@example.com');
    expect(seed.users.every((u) => u.id === userIdFor(u.email))).toBe(true);
  });

  it('has 500 products in 10 categories and 10,000 orders of 1 to 5 lines', () => {
    expect(seed.products).toHaveLength(500);
    expect(new Set(seed.products.map((p) => p.category))).toEqual(new Set(CATEGORIES));
    expect(seed.orders).toHaveLength(10_000);
    const lines = new Map<string, number>();
    for (const item of seed.orderItems) lines.set(item.orderId, (lines.get(item.orderId) ?? 0) + 1);
    expect(lines.size).toBe(10_000);
    expect(Math.min(...lines.values())).toBe(1);
    expect(Math.max(...lines.values())).toBe(5);
  });

  it('gives alice and bob at least 30 orders each, and every order a correct total', () => {
    const count = (email: string) => seed.orders.filter((o) => o.userId === userIdFor(email)).length;
    expect(count('alice@example.com')).toBeGreaterThanOrEqual(30);
    expect(count('bob@example.com')).toBeGreaterThanOrEqual(30);
    const totals = new Map<string, number>();
    for (const item of seed.orderItems) totals.set(item.orderId, (totals.get(item.orderId) ?? 0) + item.quantity * item.unitPriceCents);
    expect(seed.orders.every((o) => totals.get(o.id) === o.totalCents)).toBe(true);
  });

  it('is the same on every run', () => {
    const again = generateSeed();
    expect(again.users.map((u) => u.name)).toEqual(seed.users.map((u) => u.name));
    expect(again.orders.map((o) => [o.id, o.createdAt.getTime(), o.totalCents])).toEqual(seed.orders.map((o) => [o.id, o.createdAt.getTime(), o.totalCents]));
  });
});
