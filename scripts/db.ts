// npm run db:migrate | db:seed [-- --reset]: migrate or seed the PostgreSQL databases named by
// DATABASE_URL (one schema per subgraph) or USERS_/PRODUCTS_/ORDERS_DATABASE_URL. Compiled, it is
// `node dist/db/index.js migrate | seed` (the image's migration job). Both take each schema's
// advisory lock, so a job and replicas starting with MIGRATE_ON_START may all run at once.
// The embedded default needs neither: it migrates and seeds itself at start.
import { migrate } from '@commerce/db/migrate';
import { seed } from '@commerce/db/seed';
import { generateSeed } from '@commerce/db/seed-data';
import { SUBGRAPHS } from '@commerce/db/sql-runner';
import { configOrExit, openDatabase, openSchemaRunner, subgraphConfig } from '@commerce/subgraph-kit';

const [command, ...flags] = process.argv.slice(2);
if (command !== 'migrate' && command !== 'seed') {
  console.error('usage: npm run db:migrate | db:seed [-- --reset]  (compiled: node dist/db/index.js migrate | seed [--reset])');
  process.exit(2);
}
const configs = SUBGRAPHS.map((name) => configOrExit(() => subgraphConfig(name)));
if (configs.some((config) => config.database.kind !== 'postgres')) {
  console.error('Set DATABASE_URL (or USERS_/PRODUCTS_/ORDERS_DATABASE_URL) to a PostgreSQL database.\nThe embedded default (PGlite under .data/) migrates and seeds itself when `npm start` runs.');
  process.exit(2);
}
const data = command === 'seed' ? generateSeed() : undefined;
let failed = false;
for (const config of configs) {
  const database = openDatabase(config.database);
  const runner = await openSchemaRunner(database);
  const where = config.database.kind === 'postgres' ? `schema ${config.database.schema}` : '';
  try {
    if (command === 'migrate') {
      const applied = await migrate(runner, config.name);
      console.log(`${config.name} (${where}): ${applied.length === 0 ? 'up to date' : `applied ${applied.join(', ')}`}`);
    } else {
      const wrote = await seed(runner, config.name, { reset: flags.includes('--reset'), data });
      console.log(`${config.name} (${where}): ${wrote ? 'seeded' : 'already has data; left alone (use --reset to replace it)'}`);
    }
  } catch (error) {
    failed = true;
    const missingTable = (error as { code?: string }).code === '42P01';
    console.error(`${config.name}: ${(error as Error).message}${missingTable ? ' (run `npm run db:migrate` first)' : ''}`);
  } finally {
    await runner.release();
    await database.close();
  }
}
process.exit(failed ? 1 : 0);
