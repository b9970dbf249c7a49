// The running PostgreSQL that tests and benchmarks use (127.0.0.1:5432, trust auth, or
// TEST_DATABASE_URL): databases of their own, created migrated and seeded.
import { migrate } from '@commerce/db/migrate';
import { seed } from '@commerce/db/seed';
import { SUBGRAPHS } from '@commerce/db/sql-runner';
import { openDatabase } from '@commerce/subgraph-kit/database';
import pg from 'pg';

export const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

export function databaseUrl(name: string, adminUrl = ADMIN_URL): string {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function adminQuery(sql: string, adminUrl = ADMIN_URL): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

export const uniqueName = (prefix: string): string => `${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;

/** A fresh database with the three subgraph schemas, migrated and seeded (the tests' template, each bench's own). */
export async function seededDatabase(prefix: string, adminUrl = ADMIN_URL): Promise<{ name: string; url: string; drop: () => Promise<void> }> {
  const name = uniqueName(prefix);
  await adminQuery(`CREATE DATABASE ${name}`, adminUrl);
  const url = databaseUrl(name, adminUrl);
  for (const subgraph of SUBGRAPHS) {
    const database = openDatabase({ kind: 'postgres', url, schema: subgraph });
    const runner = await database.runner();
    try {
      await migrate(runner, subgraph);
      await seed(runner, subgraph);
    } finally {
      await runner.release();
      await database.close();
    }
  }
  return { name, url, drop: () => adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`, adminUrl) };
}
