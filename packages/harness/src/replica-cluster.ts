// A PostgreSQL primary with a streaming replica, both of our own: the machine's PostgreSQL allows no
// replication connections (and is not ours to reconfigure). initdb into a temporary directory with a
// `replication` line in pg_hba.conf, a postmaster on a free port, pg_basebackup -R into a second
// directory, `recovery_min_apply_delay` so the replica lags for certain, a second postmaster. All
// of it runs as the `postgres` user (initdb refuses root) from Debian's binaries; stop() removes
// both directories.
import { execFile } from 'node:child_process';
import { appendFileSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './processes.js';

const exec = promisify(execFile);

export interface ReplicaCluster {
  /** `postgresql://postgres@127.0.0.1:<port>/postgres` of the primary (trust auth). */
  primaryUrl: string;
  /** The same on the replica (read-only, `applyDelayMs` behind). */
  replicaUrl: string;
  /** A database URL on the primary / on the replica. */
  primaryDatabaseUrl(name: string): string;
  replicaDatabaseUrl(name: string): string;
  /** Stops the replica's postmaster (fast shutdown: connections are terminated). */
  stopReplica(): Promise<void>;
  /** Starts it again, on the same port; resolves when it accepts connections. */
  startReplica(): Promise<void>;
  /** Resolves when the replica has replayed everything the primary has written so far. */
  caughtUp(timeoutMs?: number): Promise<void>;
  /** Stops both postmasters and removes their directories. */
  stop(): Promise<void>;
}

export interface ReplicaClusterOptions {
  /** recovery_min_apply_delay on the replica (default 300 ms). */
  applyDelayMs?: number;
  /** Where the PostgreSQL binaries are (default: the newest under /usr/lib/postgresql). */
  binDir?: string;
}

/** Debian keeps one directory per major version; the newest one with initdb. */
export function postgresBinDir(): string | null {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(root, versions[0], 'bin') : null;
}

/** Runs a PostgreSQL binary as `postgres` when we are root (initdb and postgres refuse root). */
async function asPostgres(binDir: string, binary: string, args: string[]): Promise<string> {
  const file = join(binDir, binary);
  const root = userInfo().uid === 0;
  const { stdout } = await exec(root ? 'runuser' : file, root ? ['-u', 'postgres', '--', file, ...args] : args, { timeout: 60_000, maxBuffer: 4 * 1024 * 1024 });
  return stdout;
}

function ownDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (userInfo().uid === 0) {
    const { uid, gid } = postgresIds();
    chownSync(dir, uid, gid);
  }
  return dir;
}

let ids: { uid: number; gid: number } | undefined;
function postgresIds(): { uid: number; gid: number } {
  if (ids) return ids;
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('no postgres user on this machine');
  const [, , uid, gid] = line.split(':');
  ids = { uid: Number(uid), gid: Number(gid) };
  return ids;
}

const urlOf = (port: number, database = 'postgres') => `postgresql://postgres@127.0.0.1:${port}/${database}`;

async function accepting(url: string, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return;
    } catch (error) {
      if (Date.now() > until) throw new Error(`PostgreSQL at ${url} did not accept connections: ${(error as Error).message}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
      await client.end().catch(() => {});
    }
  }
}

export async function startReplicaCluster(options: ReplicaClusterOptions = {}): Promise<ReplicaCluster> {
  const binDir = options.binDir ?? postgresBinDir();
  if (!binDir) throw new Error('no PostgreSQL binaries under /usr/lib/postgresql (Debian\'s postgresql package)');
  const applyDelayMs = options.applyDelayMs ?? 300;
  const primaryDir = ownDir('pg-primary-');
  const replicaDir = ownDir('pg-replica-');
  const primaryData = join(primaryDir, 'data');
  const replicaData = join(replicaDir, 'data');
  const [primaryPort, replicaPort] = [await freePort(), await freePort()];
  // The sockets go into our directories, not /var/run/postgresql (the machine's server is there).
  const serverOptions = (port: number, dir: string) => `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`;
  const started: string[] = [];
  const pgCtl = (data: string, ...args: string[]) => asPostgres(binDir, 'pg_ctl', ['-D', data, '-w', '-t', '60', ...args]);
  const stopPostmaster = async (data: string) => {
    if (existsSync(join(data, 'postmaster.pid'))) await pgCtl(data, '-m', 'fast', 'stop').catch(() => {});
  };
  const stop = async () => {
    for (const data of started.reverse()) await stopPostmaster(data);
    rmSync(primaryDir, { recursive: true, force: true });
    rmSync(replicaDir, { recursive: true, force: true });
  };
  try {
    await asPostgres(binDir, 'initdb', ['-D', primaryData, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
    appendFileSync(join(primaryData, 'pg_hba.conf'), '\nhost replication all 127.0.0.1/32 trust\n');
    appendFileSync(join(primaryData, 'postgresql.conf'), '\nwal_level = replica\nmax_wal_senders = 5\nhot_standby = on\n');
    await pgCtl(primaryData, '-o', serverOptions(primaryPort, primaryDir), '-l', join(primaryDir, 'log'), 'start');
    started.push(primaryData);
    await asPostgres(binDir, 'pg_basebackup', ['-h', '127.0.0.1', '-p', String(primaryPort), '-U', 'postgres', '-D', replicaData, '-R', '-X', 'stream', '--no-sync']);
    appendFileSync(join(replicaData, 'postgresql.auto.conf'), `\nrecovery_min_apply_delay = '${applyDelayMs}ms'\n`);
    const startReplica = async () => {
      await pgCtl(replicaData, '-o', serverOptions(replicaPort, replicaDir), '-l', join(replicaDir, 'log'), 'start');
      await accepting(urlOf(replicaPort), 30_000);
    };
    await startReplica();
    started.push(replicaData);
    return {
      primaryUrl: urlOf(primaryPort),
      replicaUrl: urlOf(replicaPort),
      primaryDatabaseUrl: (name) => urlOf(primaryPort, name),
      replicaDatabaseUrl: (name) => urlOf(replicaPort, name),
      stopReplica: () => pgCtl(replicaData, '-m', 'fast', 'stop').then(() => {}),
      startReplica,
      caughtUp: async (timeoutMs = 30_000) => {
        const primary = new pg.Client({ connectionString: urlOf(primaryPort) });
        const replica = new pg.Client({ connectionString: urlOf(replicaPort) });
        await Promise.all([primary.connect(), replica.connect()]);
        try {
          const { rows } = await primary.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn');
          const until = Date.now() + timeoutMs;
          for (;;) {
            const replayed = await replica.query<{ done: boolean }>('SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS done', [rows[0]!.lsn]);
            if (replayed.rows[0]?.done) return;
            if (Date.now() > until) throw new Error('the replica did not catch up');
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
        } finally {
          await Promise.all([primary.end(), replica.end()]);
        }
      },
      stop,
    };
  } catch (error) {
    await stop().catch(() => {});
    throw error;
  }
}
