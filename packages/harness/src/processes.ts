// Runs the project's npm scripts as a user would, in child processes.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

/** The repository's root (where the npm scripts are). */
export const ROOT = join(import.meta.dirname, '..', '..', '..');

export interface Run {
  child: ChildProcess;
  /** Signals the whole process group (npm, its shell, tsx and node), so nothing is left behind. */
  kill(signal: NodeJS.Signals): void;
  output(): string;
  stdout(): string;
  exited: Promise<number | null>;
  /** Resolves when the output says "ready at"; rejects if the process exits first. */
  ready: Promise<void>;
}

/** How `run` starts a process (one of args+script, `direct`, `compiled` or `exec`) and keeps its output. */
export interface RunOptions {
  args?: string[];
  direct?: string;
  compiled?: string;
  /** Any other program (HAProxy): `[command, ...args]`, in a process group of its own like the rest. */
  exec?: string[];
  cwd?: string;
  /** Called with every chunk of output as it comes (a launcher printing its children's logs). */
  echo?: (text: string) => void;
  /** Keep at most this many characters of output (the latest), for processes that run for hours. */
  retain?: number;
}

/**
 * `npm run -s <script> -- <args>` as a user types it, or with `direct`, that file under node itself
 * (npm dies of a forwarded signal, hiding the service's exit code), or with `compiled`, a file of
 * the production build under plain node, as the image runs it (no tsx), or with `exec`, another
 * program. `cwd`: where to run it (another checkout, for a benchmark's baseline).
 */
export function run(script: string, env: Record<string, string>, options: RunOptions = {}): Run {
  let output = '';
  let stdout = '';
  const extra = options.args ?? [];
  const [command, args] = options.exec
    ? [options.exec[0]!, options.exec.slice(1)]
    : options.compiled
      ? [process.execPath, ['--enable-source-maps', options.compiled, ...extra]]
      : options.direct
        ? [process.execPath, ['--import', 'tsx', options.direct]]
        : ['npm', ['run', '-s', script, ...(options.args ? ['--', ...options.args] : [])]];
  // A process group of its own: killing only npm would orphan the service it started.
  const child = spawn(command, args, { cwd: options.cwd ?? ROOT, env: { ...process.env, LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const kill = (signal: NodeJS.Signals) => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  };
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const retain = options.retain ?? Infinity;
  const trim = (text: string) => (text.length > retain ? text.slice(-retain) : text);
  let isReady = false;
  const ready = new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      options.echo?.(text);
      output += text;
      // Looked for in what came since the last chunk too, so a trimmed output cannot hide it.
      if (!isReady && output.slice(-(text.length + 16)).includes('ready at')) {
        isReady = true;
        resolve();
      }
      output = trim(output);
    };
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout = trim(stdout + chunk.toString());
      onData(chunk);
    });
    child.stderr?.on('data', onData);
    void exited.then((code) => reject(new Error(`exited with ${code} before ready:\n${output}`)));
  });
  ready.catch(() => {}); // observed by the tests that wait for it
  return { child, kill, output: () => output, stdout: () => stdout, exited, ready };
}

/** The first port the kernel hands out for `listen(0)` and outgoing connections (Linux's default 32768). */
export function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 1024 ? low : 32_768;
  } catch {
    return 32_768;
  }
}

/** Whether nothing listens on host:port right now. */
export const portFree = (port: number, host = '127.0.0.1'): Promise<boolean> =>
  new Promise((resolve) => {
    const server = createServer()
      .once('error', () => resolve(false))
      .listen(port, host, () => server.close(() => resolve(true)));
  });

/**
 * A port nothing listens on right now (for a child process to take), drawn at random below the
 * kernel's ephemeral range: a port from `listen(0)` is released before the child binds it, and in
 * that gap (or while a killed replica restarts on it) any outgoing connection may take it as its
 * local end, which a loaded CI run saw as EADDRINUSE.
 */
export async function freePort(): Promise<number> {
  const low = 10_000;
  const high = ephemeralLow();
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low));
    if (await portFree(port)) return port;
  }
  throw new Error(`no free port in ${low}..${high}`);
}
