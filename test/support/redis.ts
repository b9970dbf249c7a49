// The running Redis the e2e tests share (127.0.0.1:6379, or TEST_REDIS_URL), and private
// redis-server processes for tests that must stop one. Under CI the shared one must be there:
// tests fail rather than skip. Elsewhere they skip with a message.
import { type ChildProcess, spawn } from 'node:child_process';
import { createClient } from '@redis/client';
import { freePort } from './processes.js';

export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export async function redisAvailable(url = REDIS_URL): Promise<boolean> {
  const client = createClient({ url, socket: { connectTimeout: 2000, reconnectStrategy: false } });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.ping();
    return true;
  } catch (error) {
    if (process.env.CI) throw new Error(`Redis is required in CI but unreachable at ${url}: ${(error as Error).message}`);
    console.warn(`SKIPPING Redis tests: nothing answers at ${url} (${(error as Error).message})`);
    return false;
  } finally {
    if (client.isOpen) await client.close().catch(() => {});
  }
}

/**
 * Deletes every key of a prefix (the services write `{prefix}:…` and `prefix:…`), so test runs do
 * not pile streams, groups and clocks (which have no TTL) up in the shared Redis.
 */
export async function dropPrefix(url: string, prefix: string): Promise<void> {
  const client = createClient({ url, socket: { connectTimeout: 2000, reconnectStrategy: false } });
  client.on('error', () => {});
  try {
    await client.connect();
    for (const pattern of [`{${prefix}}:*`, `${prefix}:*`]) {
      for await (const keys of client.scanIterator({ MATCH: pattern, COUNT: 500 })) if (keys.length > 0) await client.unlink(keys);
    }
  } catch {
    // Best effort: a test that killed Redis, or none at all.
  } finally {
    if (client.isOpen) await client.close().catch(() => {});
  }
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
    const deadline = Date.now() + 5000;
    while (!(await pingable(`redis://127.0.0.1:${port}`))) {
      if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not start`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
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

async function pingable(url: string): Promise<boolean> {
  const client = createClient({ url, socket: { connectTimeout: 500, reconnectStrategy: false } });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.ping();
    return true;
  } catch {
    return false;
  } finally {
    if (client.isOpen) await client.close().catch(() => {});
  }
}
