// Batch-function helpers: DataLoader needs one result per key, in key order.
import { isUuid } from './scalars.js';

/** One row (or null) per key, in key order. */
export function oneByKey<K, V>(keys: readonly K[], rows: readonly V[], keyOf: (row: V) => K): Array<V | null> {
  const index = new Map<K, V>();
  for (const row of rows) index.set(keyOf(row), row);
  return keys.map((key) => index.get(key) ?? null);
}

/** All rows of each key (possibly none), in key order. */
export function manyByKey<K, V>(keys: readonly K[], rows: readonly V[], keyOf: (row: V) => K): V[][] {
  const index = new Map<K, V[]>();
  for (const row of rows) {
    const list = index.get(keyOf(row));
    if (list) list.push(row);
    else index.set(keyOf(row), [row]);
  }
  return keys.map((key) => index.get(key) ?? []);
}

/**
 * The usual by-id batch function: ids that are not UUIDs cannot name a row and are answered null
 * without a query; the rest are fetched in one call and returned one per key, in key order.
 */
export async function rowsByIds<V extends { id: string }>(ids: readonly string[], fetch: (ids: string[]) => Promise<V[]>): Promise<Array<V | null>> {
  const valid = ids.filter(isUuid);
  return oneByKey(ids, valid.length > 0 ? await fetch(valid) : [], (row) => row.id);
}
