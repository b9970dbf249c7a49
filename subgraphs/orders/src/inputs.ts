// What the orders subgraph accepts from clients, validated at the boundary.
import { createHash } from 'node:crypto';
import { isUuid } from '@commerce/subgraph-kit';
import { z } from 'zod';

export const MAX_LINES = 20;
export const MAX_QUANTITY = 100;

export const placeOrderInput = z.object({
  items: z
    .array(
      z.object({
        productId: z.string().refine(isUuid, 'is not a product id'),
        quantity: z.number().int().min(1, 'must be at least 1').max(MAX_QUANTITY, `must be at most ${MAX_QUANTITY}`),
      }),
    )
    .min(1, 'must hold at least one line')
    .max(MAX_LINES, `must hold at most ${MAX_LINES} lines`),
  idempotencyKey: z.string().min(1, 'must not be empty').max(100, 'must be at most 100 characters'),
});

export interface Line {
  productId: string;
  quantity: number;
}

/** Lines merged by product (a repeated product is one line), in the order first named. */
export function mergeLines(items: readonly Line[]): Line[] {
  const merged = new Map<string, number>();
  for (const item of items) merged.set(item.productId, (merged.get(item.productId) ?? 0) + item.quantity);
  return [...merged].map(([productId, quantity]) => ({ productId, quantity }));
}

/** What an idempotency key stands for: the same lines, however they were spelled, hash the same. */
export function requestHash(lines: readonly Line[]): string {
  const canonical = [...lines].sort((a, b) => a.productId.localeCompare(b.productId)).map((line) => `${line.productId}:${line.quantity}`);
  return createHash('sha256').update(canonical.join(',')).digest('hex');
}
