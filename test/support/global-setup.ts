// Once per e2e run: a template database holding the three subgraph schemas, migrated and seeded.
// Each test file clones it (CREATE DATABASE … TEMPLATE), which takes a fraction of a second.
import type { TestProject } from 'vitest/node';
import { seededDatabase } from '@commerce/harness/postgres';
import { REDIS_URL } from '@commerce/harness/redis';
import { postgresAvailable } from './postgres.js';
import { redisAvailable } from './redis.js';

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
  const { name: template, drop } = await seededDatabase('commerce_template');
  project.provide('templateDatabase', template);
  return drop;
}
