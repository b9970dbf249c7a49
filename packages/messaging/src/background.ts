// Work a service does on its own (the outbox relay, event consumers, sweeps) runs marked as
// background, so what it costs is told apart from what requests cost (sql_statements_total has a
// `source` label): the N+1 measurements count requests only, however busy the saga is.
import { AsyncLocalStorage } from 'node:async_hooks';
import { withoutDeadline } from '@commerce/platform/deadline';

const marker = new AsyncLocalStorage<true>();

/** Runs `work` as background: counted so, and free of the deadline of a request that set it off. */
export const runInBackground = <T>(work: () => Promise<T>): Promise<T> => marker.run(true, () => withoutDeadline(work));

export const inBackground = (): boolean => marker.getStore() === true;
