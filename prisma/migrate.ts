// Applies prisma/<name>/migrations/*/migration.sql in order, once each.
//
// It keeps Prisma's own bookkeeping table (_prisma_migrations, same columns and checksum), so a
// database migrated here is one that `prisma migrate deploy` on a machine with internet sees as
// up to date, and the other way round. Scripts run through the raw driver, because PGlite rejects
// several statements in one prepared statement.
import { createHash, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findRuntimeFile } from '@commerce/platform/runtime-files';
import type { SqlRunner, SubgraphName } from './sql-runner.js';

const BOOKKEEPING = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
  "id" VARCHAR(36) PRIMARY KEY NOT NULL,
  "checksum" VARCHAR(64) NOT NULL,
  "finished_at" TIMESTAMPTZ,
  "migration_name" VARCHAR(255) NOT NULL,
  "logs" TEXT,
  "rolled_back_at" TIMESTAMPTZ,
  "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
  "applied_steps_count" INTEGER NOT NULL DEFAULT 0
);`;

export interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

export function migrationsOf(subgraph: SubgraphName): Migration[] {
  // prisma/<name>/migrations at the project root, or in dist/ beside the compiled services.
  const dir = findRuntimeFile(import.meta.dirname, join('prisma', subgraph, 'migrations'));
  if (dir === null) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort()
    .map((name) => {
      const sql = readFileSync(join(dir, name, 'migration.sql'), 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    });
}

/** The advisory-lock class of schema changes (migrations, seeds) of this project: "cgmi". */
export const SCHEMA_LOCK_CLASS = 0x63676d69;

/** The lock's second key: the schema's name hashed to a signed 32-bit integer (one lock per schema and database). */
export const schemaLockKey = (schema: string): number => createHash('sha256').update(schema).digest().readInt32BE(0);

/**
 * Runs `work` holding this schema's advisory lock (pg_advisory_lock on the runner's one
 * connection): replicas that start at once, or a migration job beside them, take turns, so each
 * finds what the one before it did and nothing is applied twice. The lock is the session's: a
 * rolled-back migration keeps it until the unlock, and a connection that dies releases it.
 */
export async function withSchemaLock<T>(db: SqlRunner, work: () => Promise<T>): Promise<T> {
  const [row] = await db.query<{ schema: string | null }>('SELECT current_schema() AS schema');
  if (!row?.schema) throw new Error('no current schema to lock (does the search_path name a schema that exists?)');
  const key = [SCHEMA_LOCK_CLASS, schemaLockKey(row.schema)];
  await db.query('SELECT pg_advisory_lock($1, $2)', key);
  try {
    return await work();
  } finally {
    await db.query('SELECT pg_advisory_unlock($1, $2)', key);
  }
}

/** Applies every migration not yet applied, holding the schema's lock; returns the names it applied. */
export function migrate(db: SqlRunner, subgraph: SubgraphName): Promise<string[]> {
  return withSchemaLock(db, () => applyPending(db, subgraph));
}

async function applyPending(db: SqlRunner, subgraph: SubgraphName): Promise<string[]> {
  await db.exec(BOOKKEEPING);
  const rows = await db.query<{ migration_name: string; checksum: string }>(
    'SELECT migration_name, checksum FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL',
  );
  const applied = new Map(rows.map((row) => [row.migration_name, row.checksum]));
  const done: string[] = [];
  for (const migration of migrationsOf(subgraph)) {
    const checksum = applied.get(migration.name);
    if (checksum !== undefined) {
      if (checksum !== migration.checksum) {
        throw new Error(`${subgraph}: migration ${migration.name} was changed after it was applied`);
      }
      continue;
    }
    if (!/^\w+$/.test(migration.name)) throw new Error(`${subgraph}: bad migration folder name ${migration.name}`);
    // The script and its bookkeeping row commit together, or neither does.
    const record = `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, applied_steps_count)
      VALUES ('${randomUUID()}', '${migration.checksum}', now(), '${migration.name}', 1);`;
    await db.exec(`BEGIN;\n${migration.sql}\n;${record}\nCOMMIT;`).catch(async (error: unknown) => {
      await db.exec('ROLLBACK').catch(() => {});
      throw new Error(`${subgraph}: migration ${migration.name} failed: ${(error as Error).message}`);
    });
    done.push(migration.name);
  }
  return done;
}
