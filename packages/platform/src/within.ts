// How long a caller waits for something that may hang (a store, the bus): the promise's outcome, or
// an error once `ms` have passed. The work itself goes on; if it fails after the deadline, nobody is
// told (the caller has moved on, which is the point).
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  promise.catch(() => {});
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
