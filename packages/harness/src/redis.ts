// The running Redis that tests and benchmarks share (127.0.0.1:6379, or TEST_REDIS_URL), reached
// by one-shot connections that never retry, and the cleanup of a graph's namespace in it.
import { createClient } from '@redis/client';

export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

const oneShotClient = (url: string, connectTimeout: number) => createClient({ url, socket: { connectTimeout, reconnectStrategy: false } });

/** One short-lived connection that never retries, closed after `work` whatever happens. */
export async function withRedis<T>(url: string, connectTimeout: number, work: (client: ReturnType<typeof oneShotClient>) => Promise<T>): Promise<T> {
  const client = oneShotClient(url, connectTimeout);
  client.on('error', () => {});
  try {
    await client.connect();
    return await work(client);
  } finally {
    if (client.isOpen) await client.close().catch(() => {});
  }
}

/**
 * Deletes every key of a prefix (the services write `{prefix}:…` and `prefix:…`), so runs do not
 * pile streams, groups and clocks (which have no TTL) up in the shared Redis.
 */
export async function dropPrefix(url: string, prefix: string): Promise<void> {
  await withRedis(url, 2000, async (client) => {
    for (const pattern of [`{${prefix}}:*`, `${prefix}:*`]) {
      for await (const keys of client.scanIterator({ MATCH: pattern, COUNT: 500 })) if (keys.length > 0) await client.unlink(keys);
    }
  }).catch(() => {}); // best effort: a test that killed Redis, or none at all
}
