// Runs at postinstall: Prisma clients (offline) and resolver types from the SDL.
// Prisma's CLI would try to download a native schema engine; generate never runs it,
// so pointing the variable at any existing file keeps it offline (see NOTES.md).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const env = { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? '/bin/false', CHECKPOINT_DISABLE: '1', PRISMA_HIDE_UPDATE_MESSAGE: '1' };
const run = (cmd, args) => execFileSync(cmd, args, { stdio: 'inherit', env });

for (const name of ['users', 'products', 'orders']) {
  run('npx', ['--no-install', 'prisma', 'generate', '--schema', `prisma/${name}/schema.prisma`]);
}
if (existsSync('codegen.ts')) run('npx', ['--no-install', 'graphql-codegen', '--config', 'codegen.ts']);
