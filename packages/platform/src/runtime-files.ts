// Files the services read at run time (the SDL under schema/, migrations and Prisma schemas under
// prisma/) are found by walking up from the module that needs them, not by a fixed number of `..`:
// in the repository that is the project root (packages/subgraph-kit/src -> ../../..), in the
// compiled build it is dist/ (dist/<service>/index.js -> ..), where `npm run build` copies them,
// so dist/ runs wherever it is copied (the container image) without the sources beside it.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** `relative` in the nearest directory at or above `from` that has it, or null. */
export function findRuntimeFile(from: string, relative: string): string | null {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, relative);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) return null;
  }
}

/** As findRuntimeFile, but a missing file is a broken installation: it says where it looked. */
export function runtimeFile(from: string, relative: string): string {
  const found = findRuntimeFile(from, relative);
  if (found === null) throw new Error(`${relative} not found in ${from} or any directory above it (a build without its runtime files? run \`npm run build\`)`);
  return found;
}
