// Writes the deterministic seed into one subgraph's tables with multi-row INSERTs.
import { withSchemaLock } from './migrate.js';
import { generateSeed, type SeedData } from './seed-data.js';
import type { SqlRunner, SubgraphName } from './sql-runner.js';

/** Rows per INSERT: well under PostgreSQL's 65,535 parameters for every table here. */
const CHUNK = 1000;

async function insertRows(db: SqlRunner, table: string, columns: string[], rows: unknown[][]): Promise<void> {
  for (let start = 0; start < rows.length; start += CHUNK) {
    const chunk = rows.slice(start, start + CHUNK);
    const values = chunk.map((_, r) => `(${columns.map((_, c) => `$${r * columns.length + c + 1}`).join(', ')})`);
    await db.query(`INSERT INTO "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) VALUES ${values.join(', ')}`, chunk.flat());
  }
}

const TABLES: Record<SubgraphName, string[]> = {
  users: ['users'],
  products: ['products'],
  orders: ['order_items', 'orders'],
};

const writers: Record<SubgraphName, (db: SqlRunner, data: SeedData) => Promise<void>> = {
  users: (db, { users }) =>
    insertRows(db, 'users', ['id', 'email', 'name', 'role', 'created_at', 'updated_at'],
      users.map((u) => [u.id, u.email, u.name, u.role, u.createdAt, u.createdAt])),
  products: (db, { products }) =>
    insertRows(db, 'products', ['id', 'sku', 'name', 'description', 'category', 'price_cents', 'stock', 'created_at', 'updated_at'],
      products.map((p) => [p.id, p.sku, p.name, p.description, p.category, p.priceCents, p.stock, p.createdAt, p.createdAt])),
  orders: async (db, { orders, orderItems }) => {
    await insertRows(db, 'orders', ['id', 'user_id', 'status', 'total_cents', 'created_at', 'updated_at'],
      orders.map((o) => [o.id, o.userId, o.status, o.totalCents, o.createdAt, o.createdAt]));
    await insertRows(db, 'order_items', ['id', 'order_id', 'position', 'product_id', 'product_name', 'quantity', 'unit_price_cents'],
      orderItems.map((i) => [i.id, i.orderId, i.position, i.productId, i.productName, i.quantity, i.unitPriceCents]));
  },
};

export async function isSeeded(db: SqlRunner, subgraph: SubgraphName): Promise<boolean> {
  const table = TABLES[subgraph].at(-1) as string;
  const rows = await db.query<{ present: boolean }>(`SELECT EXISTS (SELECT 1 FROM "${table}") AS present`);
  return rows[0]?.present === true;
}

/**
 * Seeds one subgraph's tables; with `reset`, empties them first. Returns false when it left existing
 * data alone. Under the schema's lock, as migrations: two seeds at once would both find the tables empty.
 */
export function seed(db: SqlRunner, subgraph: SubgraphName, options: { reset?: boolean; data?: SeedData } = {}): Promise<boolean> {
  return withSchemaLock(db, () => write(db, subgraph, options));
}

async function write(db: SqlRunner, subgraph: SubgraphName, options: { reset?: boolean; data?: SeedData }): Promise<boolean> {
  if (options.reset) await db.exec(`TRUNCATE ${TABLES[subgraph].map((t) => `"${t}"`).join(', ')} CASCADE`);
  else if (await isSeeded(db, subgraph)) return false;
  await db.exec('BEGIN');
  try {
    await writers[subgraph](db, options.data ?? generateSeed());
    await db.exec('COMMIT');
  } catch (error) {
    await db.exec('ROLLBACK');
    throw error;
  }
  return true;
}
