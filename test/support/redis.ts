// The running Redis the e2e tests share (127.0.0.1:6379, or TEST_REDIS_URL), and private
// redis-server processes for tests that must stop one. Under CI the shared one must be there:
// tests fail rather than skip. Elsewhere they skip with a message.
import { type ChildProcess, spawn } from 'node:child_process';
import { createClient } from '@redis/client';
import { expect, vi } from 'vitest';
import { freePort } from './processes.js';

export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

const oneShotClient = (url: string, connectTimeout: number) => createClient({ url, socket: { connectTimeout, reconnectStrategy: false } });

/** One short-lived connection that never retries, closed after `work` whatever happens. */
async function withClient<T>(url: string, connectTimeout: number, work: (client: ReturnType<typeof oneShotClient>) => Promise<T>): Promise<T> {
  const client = oneShotClient(url, connectTimeout);
  client.on('error', () => {});
  try {
    await client.connect();
    return await work(client);
  } finally {
    if (client.isOpen) await client.close().catch(() => {});
  }
}

export async function redisAvailable(url = REDIS_URL): Promise<boolean> {
  try {
    await withClient(url, 2000, (client) => client.ping());
    return true;
  } catch (error) {
    if (process.env.CI) throw new Error(`Redis is required in CI but unreachable at ${url}: ${(error as Error).message}`);
    console.warn(`SKIPPING Redis tests: nothing answers at ${url} (${(error as Error).message})`);
    return false;
  }
}

/**
 * Deletes every key of a prefix (the services write `{prefix}:…` and `prefix:…`), so test runs do
 * not pile streams, groups and clocks (which have no TTL) up in the shared Redis.
 */
export async function dropPrefix(url: string, prefix: string): Promise<void> {
  await withClient(url, 2000, async (client) => {
    for (const pattern of [`{${prefix}}:*`, `${prefix}:*`]) {
      for await (const keys of client.scanIterator({ MATCH: pattern, COUNT: 500 })) if (keys.length > 0) await client.unlink(keys);
    }
  }).catch(() => {}); // best effort: a test that killed Redis, or none at all
}

/** A unique key prefix, so tests sharing one Redis never see each other's keys. */
export const uniquePrefix = (name: string): string => `test-${name}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;

export interface OwnRedis {
  url: string;
  port: number;
  /** Kills the server (SIGKILL: no goodbye to clients). */
  kill(): Promise<void>;
  /** Starts it again on the same port (empty: nothing is persisted). */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** A redis-server of the test's own on a free port, which the test may kill and restart. */
export async function ownRedis(): Promise<OwnRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    await vi.waitFor(async () => expect(await pingable(`redis://127.0.0.1:${port}`), `redis-server on port ${port} answers`).toBe(true), { timeout: 5000, interval: 50 });
  };
  const kill = async () => {
    const running = child;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGKILL');
    await exited;
  };
  await start();
  return { url: `redis://127.0.0.1:${port}`, port, kill, start, stop: kill };
}

function pingable(url: string): Promise<boolean> {
  return withClient(url, 500, (client) => client.ping()).then(
    () => true,
    () => false,
  );
}
