import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

/** e2e files that run one at a time, after the others. */
const SERIAL = ['test/order-burst.e2e.ts', 'test/deadlines.e2e.ts', 'test/scale-out.e2e.ts', 'test/replicas.e2e.ts'];

export default defineConfig({
  // Apollo loads graphql's CJS build; make test files use the same copy, or schemas built in one
  // "realm" are rejected by the other.
  resolve: { alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }] },
  test: {
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['**/*.test.ts'], exclude: ['**/node_modules/**'], testTimeout: 10_000, sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/**/*.e2e.ts'],
          exclude: [...SERIAL, '**/node_modules/**'],
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          // Each file starts a whole graph; two at a time suits a 2-core machine.
          maxWorkers: 2,
          sequence: { groupOrder: 1 },
        },
      },
      {
        extends: true,
        test: {
          // Files whose subject is timing under load (deadlines at a burst, replicas killed under
          // autocannon behind HAProxy): alone on the machine,
          // after the rest, so another file's graph does not starve theirs of CPU.
          name: 'e2e-serial',
          include: SERIAL,
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          maxWorkers: 1,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
