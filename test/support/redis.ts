// The shared Redis as the e2e tests see it (under CI it must be there: tests fail rather than
// skip; elsewhere they skip with a message), unique prefixes, and private redis-server processes
// for tests that must stop one. The URL and the cleanup are the harness's (benchmarks use them too).
import { type ChildProcess, spawn } from 'node:child_process';
import { freePort } from '@commerce/harness/processes';
import { REDIS_URL, withRedis } from '@commerce/harness/redis';
import { expect, vi } from 'vitest';

export async function redisAvailable(url = REDIS_URL): Promise<boolean> {
  try {
    await withRedis(url, 2000, (client) => client.ping());
    return true;
  } catch (error) {
    if (process.env.CI) throw new Error(`Redis is required in CI but unreachable at ${url}: ${(error as Error).message}`);
    console.warn(`SKIPPING Redis tests: nothing answers at ${url} (${(error as Error).message})`);
    return false;
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
  return withRedis(url, 500, (client) => client.ping()).then(
    () => true,
    () => false,
  );
}
