// Expected mutation outcomes (invalid input, not found, taken) are payload userErrors, not
// GraphQL errors. Inputs are validated with zod at the boundary; every problem is reported with
// the path of the input field at fault.
import type { z } from 'zod';

export interface UserError {
  field: string[] | null;
  message: string;
  code: string;
}

export const userError = (field: string[] | null, message: string, code: string): UserError => ({ field, message, code });

export type Parsed<T> = { ok: true; data: T } | { ok: false; userErrors: UserError[] };

/** Validates `input` with `schema`; problems become INVALID userErrors under `prefix` (e.g. ["input"]). */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, prefix: string[] = ['input']): Parsed<z.output<S>> {
  const result = schema.safeParse(input);
  if (result.success) return { ok: true, data: result.data };
  return {
    ok: false,
    userErrors: result.error.issues.map((issue) => userError([...prefix, ...issue.path.map(String)], issue.message, 'INVALID')),
  };
}

/** Prisma's unique-constraint violation (the same with the pg and PGlite adapters). */
export const isUniqueViolation = (error: unknown): boolean => (error as { code?: string } | null)?.code === 'P2002';
