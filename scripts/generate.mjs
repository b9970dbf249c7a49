// Generates the Prisma clients (offline) and the resolver types from the SDL, for the subgraphs
// named on the command line (default: all three). Runs at postinstall and as turbo's `generate`.
// Prisma's CLI would try to download a native schema engine; generate never runs it, so pointing
// the variable at any existing file keeps it offline.
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const all = ['users', 'products', 'orders'];
const names = process.argv.slice(2).length > 0 ? process.argv.slice(2) : all;
const unknown = names.filter((name) => !all.includes(name));
if (unknown.length > 0) {
  console.error(`unknown subgraph: ${unknown.join(', ')}`);
  process.exit(2);
}
const env = {
  ...process.env,
  PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? '/bin/false',
  CHECKPOINT_DISABLE: '1',
  PRISMA_HIDE_UPDATE_MESSAGE: '1',
  CODEGEN_SUBGRAPHS: names.join(','),
};
const run = (command, args) => execFileSync(command, args, { cwd: root, stdio: ['ignore', 'ignore', 'inherit'], env });

for (const name of names) run('npx', ['--no-install', 'prisma', 'generate', '--schema', `prisma/${name}/schema.prisma`]);
run('npx', ['--no-install', 'graphql-codegen', '--config', 'codegen.ts']);
console.log(`generated Prisma clients and resolver types for ${names.join(', ')}`);
