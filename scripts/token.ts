// npm run -s token -- --email alice@example.com [--ttl <seconds>]: prints a valid JWT for a seeded
// user (development only). Works while `npm start` runs: it opens no database.
import { parseArgs } from 'node:util';
import { cli, devToken, UsageError } from './dev-token.js';

await cli(async () => {
  let values: { email?: string; ttl?: string };
  try {
    ({ values } = parseArgs({ options: { email: { type: 'string' }, ttl: { type: 'string' } } }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const ttl = values.ttl === undefined ? 3600 : Number(values.ttl);
  if (!values.email || !Number.isInteger(ttl) || ttl <= 0) throw new UsageError('usage: npm run -s token -- --email <seeded user> [--ttl <seconds>]');
  process.stdout.write(`${await devToken(values.email, ttl)}\n`);
});
