// The raw runner that migrations and seeds use, made safe for replicas starting at once.
//
// database.runner() begins with CREATE SCHEMA IF NOT EXISTS, which is not safe against itself: on a
// fresh database two at once may both find the schema missing, and one fails on pg_namespace's
// unique index. Creating the schema first, holding the same advisory lock as the migrations
// (prisma/migrate.ts), leaves runner() nothing to create, so any number of processes can start
// together; the migrations themselves then take their turns under that lock.
import { SCHEMA_LOCK_CLASS, schemaLockKey } from '@commerce/db/migrate';
import type { SqlRunner } from '@commerce/db/sql-runner';
import pg from 'pg';
import type { Database, DatabaseTarget } from './database.js';

async function createSchemaOnce(target: Extract<DatabaseTarget, { kind: 'postgres' }>): Promise<void> {
  const client = new pg.Client({ connectionString: target.url });
  await client.connect();
  try {
    const key = [SCHEMA_LOCK_CLASS, schemaLockKey(target.schema)];
    await client.query('SELECT pg_advisory_lock($1, $2)', key);
    try {
      await client.query(`CREATE SCHEMA IF NOT EXISTS "${target.schema.replaceAll('"', '""')}"`);
    } finally {
      await client.query('SELECT pg_advisory_unlock($1, $2)', key);
    }
  } finally {
    await client.end();
  }
}

/** database.runner(), its PostgreSQL schema created first under the schema's lock. */
export async function openSchemaRunner(database: Database): Promise<SqlRunner & { release(): Promise<void> }> {
  if (database.target.kind === 'postgres') await createSchemaOnce(database.target);
  return database.runner();
}
