// The running PostgreSQL as the e2e tests see it: under CI it must be there (tests fail rather
// than skip; elsewhere they skip with a message), and each test file clones the run's seeded
// template. Creating and seeding databases is the harness's (benchmarks do it too).
import { ADMIN_URL, adminQuery, databaseUrl, uniqueName } from '@commerce/harness/postgres';
import pg from 'pg';

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

/** A fresh database cloned from the seeded template; returns its URL and a drop function. */
export async function cloneDatabase(template: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = uniqueName('commerce_test');
  await adminQuery(`CREATE DATABASE ${name} TEMPLATE ${template}`);
  return { url: databaseUrl(name), drop: () => adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}
