// Waiting for a value to appear, on vitest's own polling (vi.waitFor), with a message that says
// what never came.
import { vi } from 'vitest';

/** Resolves with the first value `probe` gives (not undefined), asking every `interval` ms for at most `timeout` ms. */
export function valueOf<T>(what: string, probe: () => T | undefined, timeout: number, interval = 50): Promise<T> {
  return vi.waitFor(
    () => {
      const value = probe();
      if (value === undefined) throw new Error(`no ${what} within ${timeout} ms`);
      return value;
    },
    { timeout, interval },
  );
}
