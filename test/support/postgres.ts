// The running PostgreSQL the e2e tests use (127.0.0.1:5432, trust auth, or TEST_DATABASE_URL).
// Under CI it must be there: tests fail rather than skip. Elsewhere they skip with a message.
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

export async function postgresAvailable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch (error) {
    if (process.env.CI) throw new Error(`PostgreSQL is required in CI but unreachable at ${ADMIN_URL}: ${(error as Error).message}`);
    console.warn(`SKIPPING PostgreSQL tests: nothing answers at ${ADMIN_URL} (${(error as Error).message})`);
    return false;
  } finally {
    await client.end().catch(() => {});
  }
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

/** A fresh database cloned from the seeded template; returns its URL and a drop function. */
export async function cloneDatabase(template: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = uniqueName('commerce_test');
  await adminQuery(`CREATE DATABASE ${name} TEMPLATE ${template}`);
  return { url: databaseUrl(name), drop: () => adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}
