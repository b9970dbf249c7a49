// The stock reservation is one `WITH … INSERT … UPDATE … RETURNING` statement sent as a query: the
// driver adapter must never take it for a read (a read may be sent twice, and to a replica; ADR 0005).
import { isRead } from '@commerce/subgraph-kit';
import { describe, expect, it } from 'vitest';
import type { PrismaClient } from './generated/prisma/client.js';
import { ProductsRepository } from './repository.js';

describe('products write statements are never reads', () => {
  it('reserve sends one statement, and isRead refuses it', async () => {
    const sent: string[] = [];
    const prisma = { $queryRawUnsafe: async (sql: string) => { sent.push(sql); return []; } };
    const repository = new ProductsRepository(prisma as unknown as PrismaClient);
    await repository.reserve('event-1', { orderId: '00000000-0000-4000-8000-000000000001', userId: '00000000-0000-4000-8000-000000000003', lines: [{ productId: '00000000-0000-4000-8000-000000000002', quantity: 2 }] });
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatch(/^\s*WITH\b/);
    expect(isRead(sent[0])).toBe(false);
  });
});
