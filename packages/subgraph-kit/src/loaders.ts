// Batch-function helpers: DataLoader needs one result per key, in key order.

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
