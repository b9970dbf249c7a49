// What the products subgraph accepts from clients, validated at the boundary.
import { amountToCents } from '@commerce/subgraph-kit';
import { z } from 'zod';

const MAX_PRICE_CENTS = 999_999_999; // 9,999,999.99

const price = z
  .string()
  .transform((amount, context) => {
    const cents = amountToCents(amount);
    if (cents === null || cents > MAX_PRICE_CENTS) {
      context.addIssue({ code: 'custom', message: 'must be a decimal amount like "19.99" (at most 9999999.99)' });
      return z.NEVER;
    }
    return cents;
  })
  .refine((cents) => cents > 0, 'must be more than 0');

const fields = {
  name: z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters'),
  description: z.string().max(5000, 'must be at most 5,000 characters'),
  category: z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'must be lower-case letters, digits and dashes'),
  price,
  stock: z.number().int().min(0, 'must not be negative').max(1_000_000, 'must be at most 1,000,000'),
};

export const createProductInput = z.object({
  sku: z.string().trim().regex(/^[A-Za-z0-9][A-Za-z0-9-]{0,39}$/, 'must be up to 40 letters, digits and dashes'),
  ...fields,
  description: fields.description.nullish().transform((value) => value ?? ''),
  stock: fields.stock.nullish().transform((value) => value ?? 0),
});

/** Every field optional; an explicit null is refused (these columns have no empty value). */
export const updateProductInput = z.object({
  name: fields.name.optional(),
  description: fields.description.optional(),
  category: fields.category.optional(),
  price: fields.price.optional(),
  stock: fields.stock.optional(),
});
