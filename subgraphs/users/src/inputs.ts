// What the users subgraph accepts from clients, validated at the boundary.
import { z } from 'zod';

export const updateMeInput = z.object({
  name: z.string().trim().min(1, 'must not be empty').max(100, 'must be at most 100 characters').optional(),
});

export const createApiClientInput = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{1,39}$/, 'must be 2 to 40 lower-case letters, digits and dashes'),
  tier: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'must be lower-case letters, digits and dashes'),
});
