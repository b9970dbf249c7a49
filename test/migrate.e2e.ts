// Replicas that start at once: each migrates its schema at start (MIGRATE_ON_START) and a
// migration job may run beside them. The migrator takes the schema's advisory lock, so on a fresh
// database all of them succeed, every migration is applied once, and the seed is written once.
import { migrate, migrationsOf, SCHEMA_LOCK_CLASS, schemaLockKey } from '@commerce/db/migrate';
import { seed } from '@commerce/db/seed';
import { generateSeed } from '@commerce/db/seed-data';
import type { SubgraphName } from '@commerce/db/sql-runner';
import { openDatabase } from '@commerce/subgraph-kit/database';
import { openSchemaRunner } from '@commerce/subgraph-kit/schema-runner';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { adminQuery, databaseUrl, uniqueName } from '@commerce/harness/postgres';

const available = inject('templateDatabase') !== null;
const CONCURRENT = 8;
const dropped: string[] = [];
const fresh = async (): Promise<string> => {
  const name = uniqueName('commerce_migrate');
  await adminQuery(`CREATE DATABASE ${name}`);
  dropped.push(name);
  return databaseUrl(name);
};

/** What one replica does at start: its own connection, the schema's runner, migrate (and seed). */
async function start(url: string, subgraph: SubgraphName, work: 'migrate' | 'seed'): Promise<string[] | boolean> {
  const database = openDatabase({ kind: 'postgres', url, schema: subgraph });
  const runner = await openSchemaRunner(database);
  try {
    return work === 'migrate' ? await migrate(runner, subgraph) : await seed(runner, subgraph, { data: SEED });
  } finally {
    await runner.release();
    await database.close();
  }
}

async function rows<T>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

const SEED = generateSeed();

beforeAll(() => {
  if (!available) console.warn('SKIPPING migrate.e2e: no PostgreSQL');
});

afterAll(async () => {
  for (const name of dropped) await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
});

describe.runIf(available)('concurrent starts on one fresh database', () => {
  it(`${CONCURRENT} migrations of one schema at once all succeed, and each migration is applied once`, async () => {
    const url = await fresh(); // no schema yet: they race to create it, too
    const results = await Promise.allSettled(Array.from({ length: CONCURRENT }, () => start(url, 'orders', 'migrate')));
    expect(results.filter((result) => result.status === 'rejected')).toEqual([]);
    const applied = results.map((result) => (result as PromiseFulfilledResult<string[]>).value);
    const names = migrationsOf('orders').map((migration) => migration.name);
    expect(names.length).toBeGreaterThan(1);
    // One of them applied everything, in order; the others found it done.
    expect(applied.filter((list) => list.length > 0)).toEqual([names]);
    const recorded = await rows<{ migration_name: string; count: string }>(
      url,
      'SELECT migration_name, count(*) FROM orders."_prisma_migrations" WHERE finished_at IS NOT NULL GROUP BY migration_name ORDER BY migration_name',
    );
    expect(recorded).toEqual(names.map((name) => ({ migration_name: name, count: '1' })));
  });

  it('the three subgraphs migrating at once, several replicas each, do not wait on or collide with each other', async () => {
    const url = await fresh();
    const subgraphs: SubgraphName[] = ['users', 'products', 'orders'];
    const results = await Promise.allSettled(subgraphs.flatMap((subgraph) => [0, 1, 2].map(() => start(url, subgraph, 'migrate'))));
    expect(results.filter((result) => result.status === 'rejected')).toEqual([]);
    for (const subgraph of subgraphs) {
      const recorded = await rows<{ migration_name: string }>(url, `SELECT migration_name FROM ${subgraph}."_prisma_migrations" ORDER BY migration_name`);
      expect(recorded.map((row) => row.migration_name)).toEqual(migrationsOf(subgraph).map((migration) => migration.name));
    }
  });

  it('seeds at once write the seed once (SEED_ON_START on several replicas)', async () => {
    const url = await fresh();
    await start(url, 'users', 'migrate');
    const results = await Promise.allSettled(Array.from({ length: 4 }, () => start(url, 'users', 'seed')));
    expect(results.filter((result) => result.status === 'rejected')).toEqual([]);
    expect(results.filter((result) => (result as PromiseFulfilledResult<boolean>).value === true)).toHaveLength(1);
    const [count] = await rows<{ count: string }>(url, 'SELECT count(*) FROM users.users');
    expect(Number(count?.count)).toBe(SEED.users.length);
  });

  it('a migration waits while another session holds the schema lock, and runs once it is released', async () => {
    const url = await fresh();
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    try {
      await holder.query('SELECT pg_advisory_lock($1, $2)', [SCHEMA_LOCK_CLASS, schemaLockKey('products')]);
      let finished = false;
      const migrating = start(url, 'products', 'migrate').then((applied) => {
        finished = true;
        return applied;
      });
      // It is waiting on the lock (visible in pg_locks), not done.
      await expect
        .poll(async () => (await rows<{ waiting: string }>(url, "SELECT count(*) AS waiting FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"))[0]?.waiting, { timeout: 10_000 })
        .toBe('1');
      expect(finished).toBe(false);
      await holder.query('SELECT pg_advisory_unlock($1, $2)', [SCHEMA_LOCK_CLASS, schemaLockKey('products')]);
      expect(await migrating).toEqual(migrationsOf('products').map((migration) => migration.name));
    } finally {
      await holder.end();
    }
  });
});
