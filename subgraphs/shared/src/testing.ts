// Helpers for unit tests (not exported from the package index).

/** The extensions.code of what `fn` throws, or 'no error'. */
export function errorCodeOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return (error as { extensions?: { code?: string } }).extensions?.code;
  }
  return 'no error';
}
