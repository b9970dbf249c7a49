// The write path's single statements (`WITH … INSERT/UPDATE … RETURNING`, sent as queries since they
// return rows) must never look like reads to the driver adapter: a read may be sent twice and, with
// replicas, to a replica (ADR 0005). Checked on the SQL the repository really sends.
import { isRead } from '@commerce/subgraph-kit';
import { describe, expect, it } from 'vitest';
import type { PrismaClient } from './generated/prisma/client.js';
import { OrdersRepository } from './repository.js';

function capturing() {
  const sent: string[] = [];
  const prisma = { $queryRawUnsafe: async (sql: string) => { sent.push(sql); return []; } };
  return { sent, repository: new OrdersRepository(prisma as unknown as PrismaClient) };
}

const ORDER = '00000000-0000-4000-8000-000000000001';
const PRODUCT = '00000000-0000-4000-8000-000000000002';
const USER = '00000000-0000-4000-8000-000000000003';

describe('orders write statements are never reads', () => {
  it('placeOrder, confirm and reject each send one statement, and isRead refuses all three', async () => {
    const { sent, repository } = capturing();
    await repository.placeOrder(USER, 'key-1', 'hash', [{ productId: PRODUCT, productName: 'P', quantity: 1, unitPriceCents: 100, currency: 'USD' }]);
    await repository.confirm('event-1', { orderId: ORDER, lines: [{ productId: PRODUCT, quantity: 1, unitPriceCents: 100, currency: 'USD' }] } as never);
    await repository.reject('event-2', { orderId: ORDER, reason: 'OUT_OF_STOCK' } as never);
    expect(sent).toHaveLength(3);
    for (const sql of sent) {
      expect(sql).toMatch(/^\s*WITH\b/);
      expect(isRead(sql)).toBe(false);
    }
  });
});
