// Once per e2e run: a template database holding the three subgraph schemas, migrated and seeded.
// Each test file clones it (CREATE DATABASE … TEMPLATE), which takes a fraction of a second.
import type { TestProject } from 'vitest/node';
import { migrate } from '@commerce/db/migrate';
import { seed } from '@commerce/db/seed';
import { SUBGRAPHS } from '@commerce/db/sql-runner';
import { openDatabase } from '@commerce/shared/database';
import { adminQuery, databaseUrl, postgresAvailable, uniqueName } from './postgres.js';
import { REDIS_URL, redisAvailable } from './redis.js';

declare module 'vitest' {
  export interface ProvidedContext {
    templateDatabase: string | null;
    /** The shared Redis, or null when it is not running (tests that need it skip; under CI they fail). */
    redisUrl: string | null;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  project.provide('redisUrl', (await redisAvailable()) ? REDIS_URL : null);
  if (!(await postgresAvailable())) {
    project.provide('templateDatabase', null);
    return async () => {};
  }
  const template = uniqueName('commerce_template');
  await adminQuery(`CREATE DATABASE ${template}`);
  for (const name of SUBGRAPHS) {
    const database = openDatabase({ kind: 'postgres', url: databaseUrl(template), schema: name });
    const runner = await database.runner();
    try {
      await migrate(runner, name);
      await seed(runner, name);
    } finally {
      await runner.release();
      await database.close();
    }
  }
  project.provide('templateDatabase', template);
  return async () => {
    await adminQuery(`DROP DATABASE IF EXISTS ${template} WITH (FORCE)`);
  };
}
