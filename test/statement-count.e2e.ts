// sql_statements_total counts what reaches the database: BEGIN, each statement, COMMIT or ROLLBACK,
// once each, whichever adapter sends them (node-postgres lets Prisma send COMMIT; PGlite's
// adapter sends it from commit()). bench:saga's statements per order rest on this.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '@commerce/subgraph-kit/database';
import { ADMIN_URL } from '@commerce/harness/postgres';
import { postgresAvailable } from './support/postgres.js';

const statement = (sql: string) => ({ sql, args: [], argTypes: [] });

async function oneTransaction(database: Database, end: 'commit' | 'rollback'): Promise<void> {
  const adapter = await database.adapter.connect();
  const tx = await adapter.startTransaction();
  await tx.queryRaw(statement('SELECT 1'));
  // What Prisma's engine does: without phantom queries it sends COMMIT / ROLLBACK itself, then
  // calls commit() / rollback() to hand the connection back.
  if (!tx.options.usePhantomQuery) await tx.executeRaw(statement(end.toUpperCase()));
  await (end === 'commit' ? tx.commit() : tx.rollback());
  await adapter.dispose();
}

const dir = mkdtempSync(join(tmpdir(), 'statement-count-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const hasPostgres = await postgresAvailable();

describe.each([
  ['PGlite', () => ({ kind: 'pglite', dataDir: dir }) as const, true],
  ['PostgreSQL', () => ({ kind: 'postgres', url: ADMIN_URL, schema: 'public' }) as const, hasPostgres],
])('%s: a transaction of one statement is three statements', (_name, target, available) => {
  it.runIf(available)('BEGIN, the statement, COMMIT (or ROLLBACK), and a lone statement is one', async () => {
    let sent = 0;
    const database = openDatabase(target(), { onStatement: () => void sent++ });
    try {
      await oneTransaction(database, 'commit');
      expect(sent).toBe(3);
      await oneTransaction(database, 'rollback');
      expect(sent).toBe(6);
      const adapter = await database.adapter.connect();
      await adapter.queryRaw(statement('SELECT 1'));
      expect(sent).toBe(7);
    } finally {
      await database.close();
    }
  });
});
