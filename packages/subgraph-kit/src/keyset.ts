// Keyset (seek) pagination over a sort key plus id, for Prisma queries: the cursor carries the
// last row's sort value and id, so pages stay stable when rows are inserted elsewhere.
import { decodeCursor, encodeCursor } from './cursor.js';
import type { PageRequest } from './pagination.js';

export interface KeysetOrder<F extends string = string> {
  /** Names the list; a cursor is valid only for the same list and order. */
  list: string;
  field: F;
  type: 'date' | 'number' | 'string';
  direction: 'asc' | 'desc';
}

type SortValue = Date | number | string;

const kindOf = (order: KeysetOrder): string => `${order.list}:${order.field}:${order.direction}`;

export function cursorFor<F extends string>(order: KeysetOrder<F>, row: Record<F, unknown> & { id: string }): string {
  const value = row[order.field] as SortValue;
  return encodeCursor(kindOf(order), [value instanceof Date ? value.toISOString() : value, row.id]);
}

/** Decodes a cursor of this order into its sort value and id (BAD_USER_INPUT when it is not one). */
export function decodeKeyset(order: KeysetOrder, cursor: string): { value: SortValue; id: string } {
  const [value, id] = decodeCursor(cursor, kindOf(order), [order.type, 'string']);
  return { value: order.type === 'date' ? new Date(value as string) : (value as SortValue), id: id as string };
}

/**
 * The Prisma `where`, `orderBy` and `take` of one page: rows after (forward) or before (backward)
 * the cursor, fetched in the direction of travel, one more than the page size.
 */
export function keysetQuery<F extends string>(order: KeysetOrder<F>, request: PageRequest) {
  const ascending = (order.direction === 'asc') === (request.direction === 'forward');
  const dir = ascending ? ('asc' as const) : ('desc' as const);
  const op = ascending ? 'gt' : 'lt';
  let where: Record<string, unknown> = {};
  if (request.cursor !== null) {
    const { value, id } = decodeKeyset(order, request.cursor);
    where = { OR: [{ [order.field]: { [op]: value } }, { [order.field]: value, id: { [op]: id } }] };
  }
  return { where, orderBy: [{ [order.field]: dir }, { id: dir }], take: request.size + 1 };
}
