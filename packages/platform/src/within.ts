// How long a caller waits for something that may hang (a store, the bus): the promise's outcome, or
// an error once `ms` have passed. The work itself goes on; if it fails after the deadline, nobody is
// told (the caller has moved on, which is the point).
//
// One promise and one timer per call, settled by whichever comes first (not Promise.race and
// finally, which add three more promises and their reactions): every cache hit waits on two of
// these, so it shows in the hit lane's profile.
// `what` names what is waited for, or makes the error a late answer is refused with.
export function within<T>(promise: Promise<T>, ms: number, what: string | (() => Error)): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(typeof what === 'string' ? new Error(`${what} did not answer within ${ms} ms`) : what()), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
