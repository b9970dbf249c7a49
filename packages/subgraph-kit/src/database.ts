// Chooses the database driver once, at start: embedded PGlite (the zero-setup default) or
// PostgreSQL through node-postgres, optionally with streaming read replicas. Both give Prisma a
// driver adapter, wrapped so that every SQL statement sent is counted (sql_statements_total, by
// the server it went to), and a raw runner for migrations and seeds. With replicas, the adapter
// Prisma gets sends a read to a replica only inside a read scope (replicas.ts decides which reads
// may go, and checks the answer); every other statement goes to the primary.
import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import type { SqlDriverAdapter, SqlDriverAdapterFactory, SqlQuery } from '@prisma/driver-adapter-utils';
import pg from 'pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import type { SqlRunner } from '@commerce/db/sql-runner';
import { Admission } from '@commerce/platform/admission';
import { currentDeadline, DeadlineExceededError, isDeadlineExceeded } from '@commerce/platform/deadline';
import { DirectSql } from './direct-sql.js';
import { readScope, type ReplicaLink } from './replicas.js';
import { parseLsn } from './wal-positions.js';

export type DatabaseTarget =
  | { kind: 'pglite'; dataDir: string }
  /** `replicas`: streaming replicas of that primary (same schema), for reads (ADR 0005). */
  | { kind: 'postgres'; url: string; schema: string; replicas?: readonly string[] };

/** Where a statement went: sql_statements_total's `target`. */
export type StatementTarget = 'primary' | 'replica';

export interface Database {
  readonly target: DatabaseTarget;
  /** The driver adapter to hand to `new PrismaClient({ adapter })`. */
  readonly adapter: SqlDriverAdapterFactory;
  /** Raw SQL through that same adapter without Prisma's client in between, for the hot paths (direct-sql.ts). */
  readonly sql: DirectSql;
  /** A single-connection raw runner (transactions work across calls); for migrations and seeds. */
  runner(): Promise<SqlRunner & { release(): Promise<void> }>;
  /** True when the database (the primary) answers a trivial query. */
  ping(): Promise<boolean>;
  /** What the read router asks the primary and the replicas; null without replicas. */
  readonly replicas: ReplicaLink | null;
  close(): Promise<void>;
}

const STATEMENT_METHODS = new Set(['queryRaw', 'executeRaw', 'executeScript']);
/**
 * A transaction's commit() and rollback() send COMMIT / ROLLBACK themselves only when it uses
 * "phantom" queries (PGlite's adapter); otherwise (node-postgres) Prisma sends them through
 * executeRaw, already counted, and commit() only hands the connection back.
 */
const PHANTOM_END_METHODS = new Set(['commit', 'rollback']);

/**
 * A connection the server closed under us (a restart, a failover, pg_terminate_backend): the pool
 * drops it, so the same statement on another connection may well succeed.
 */
export function isConnectionLost(error: unknown): boolean {
  const seen = new Set<unknown>();
  for (let current = error as { message?: unknown; code?: unknown; cause?: unknown } | undefined; current && !seen.has(current); current = current.cause as typeof current) {
    seen.add(current);
    const code = String((current as { originalCode?: unknown }).originalCode ?? current.code ?? '');
    if (['57P01', '57P02', '57P03', 'ECONNRESET', 'EPIPE'].includes(code) || (current as { kind?: unknown }).kind === 'ConnectionClosed') return true;
    if (/connection terminated|terminating connection|connection (?:was )?(?:closed|lost)|client has encountered a connection error/i.test(String(current.message ?? ''))) return true;
  }
  return false;
}

/** Only a read may be sent twice: whether a write that lost its connection was applied is unknown. */
export const isRead = (sql: unknown): boolean => typeof sql === 'string' && /^\s*(?:SELECT|WITH)\b/i.test(sql) && !/\b(?:INSERT|UPDATE|DELETE|MERGE)\b|\bFOR\s+(?:UPDATE|SHARE|NO KEY UPDATE|KEY SHARE)\b/i.test(sql);

/**
 * Wraps an adapter (or a transaction it opens) so each statement it sends calls `onStatement`.
 * Outside transactions, a read that lost its connection is sent again on another one, up to
 * `readAttempts` times in all: when the server closed every connection at once, each idle one the
 * pool hands out may be dead (it drops each as it fails), so one more than the pool size always
 * reaches a fresh connection.
 */
function counting<T extends object>(target: T, onStatement: () => void, readAttempts: number, inTransaction = false): T {
  return new Proxy(target, {
    get(object, property) {
      const value: unknown = Reflect.get(object, property, object);
      if (typeof value !== 'function') return value;
      const fn = value as (...args: unknown[]) => unknown;
      if (property === 'startTransaction') {
        return async (...args: unknown[]) => {
          onStatement(); // BEGIN
          return counting((await fn.apply(object, args)) as object, onStatement, 1, true);
        };
      }
      if (property === 'queryRaw' && !inTransaction) {
        return async (...args: unknown[]) => {
          for (let attempt = 1; ; attempt++) {
            onStatement();
            try {
              return await fn.apply(object, args);
            } catch (error) {
              if (attempt >= readAttempts || !isConnectionLost(error) || !isRead((args[0] as { sql?: unknown } | undefined)?.sql)) throw error;
            }
          }
        };
      }
      const phantom = inTransaction && (object as { options?: { usePhantomQuery?: boolean } }).options?.usePhantomQuery === true;
      if (typeof property === 'string' && (STATEMENT_METHODS.has(property) || (phantom && PHANTOM_END_METHODS.has(property)))) {
        return (...args: unknown[]) => {
          onStatement();
          return fn.apply(object, args);
        };
      }
      return fn.bind(object);
    },
  });
}

function countingFactory(factory: SqlDriverAdapterFactory, onStatement: () => void, readAttempts = 1): SqlDriverAdapterFactory {
  return {
    provider: factory.provider,
    adapterName: factory.adapterName,
    connect: async () => counting(await factory.connect(), onStatement, readAttempts),
  };
}

/**
 * PGlite runs one statement (or transaction) at a time and queues the rest where no deadline can
 * reach them. Turns are taken here instead, first come first served: a statement, or a transaction
 * from BEGIN to COMMIT, waits for its turn only until the request's deadline (deadline.ts), so under
 * load a request that cannot be served in time gives up before it costs anything (admission.ts).
 */
const TURN_METHODS = new Set(['queryRaw', 'executeRaw', 'executeScript']);

function turnsFactory(factory: SqlDriverAdapterFactory): SqlDriverAdapterFactory {
  // One statement or transaction at a time; a request the queue cannot reach in time is refused at once.
  const turns = new Admission(1, 'waiting for the embedded database');
  const inTurn = <T extends object>(target: T): T =>
    new Proxy(target, {
      get(object, property) {
        const value: unknown = Reflect.get(object, property, object);
        if (typeof value !== 'function') return value;
        const fn = value as (...args: unknown[]) => Promise<unknown>;
        if (property === 'startTransaction') {
          return async (...args: unknown[]) => {
            const release = await turns.take();
            try {
              // The transaction keeps the turn until it ends (its own statements need none).
              const tx = (await fn.apply(object, args)) as Record<string, unknown>;
              return new Proxy(tx, {
                get(txObject, txProperty) {
                  const member: unknown = Reflect.get(txObject, txProperty, txObject);
                  if (typeof member !== 'function') return member;
                  if (txProperty !== 'commit' && txProperty !== 'rollback') return (member as (...a: unknown[]) => unknown).bind(txObject);
                  return (...a: unknown[]) => Promise.resolve((member as (...b: unknown[]) => unknown).apply(txObject, a)).finally(release);
                },
              });
            } catch (error) {
              release();
              throw error;
            }
          };
        }
        if (typeof property === 'string' && TURN_METHODS.has(property)) {
          return async (...args: unknown[]) => {
            const release = await turns.take();
            try {
              return await fn.apply(object, args);
            } finally {
              release();
            }
          };
        }
        return fn.bind(object);
      },
    });
  return { provider: factory.provider, adapterName: factory.adapterName, connect: async () => inTurn(await factory.connect()) };
}

const quoteIdent = (name: string): string => `"${name.replaceAll('"', '""')}"`;

function openPglite(dataDir: string, onStatement: () => void): Omit<Database, 'sql'> {
  mkdirSync(dataDir, { recursive: true });
  const client = new PGlite(dataDir);
  const runner: SqlRunner = {
    exec: async (script) => void (await client.exec(script)),
    query: async <T>(sql: string, params?: unknown[]) => (await client.query<T>(sql, params)).rows,
  };
  return {
    target: { kind: 'pglite', dataDir },
    adapter: countingFactory(turnsFactory(new PrismaPGlite(client)), onStatement),
    runner: async () => ({ ...runner, release: async () => {} }),
    ping: async () => client.query('SELECT 1').then(() => true, () => false),
    replicas: null,
    close: () => client.close(),
  };
}

/**
 * A pool whose wait for a connection ends at the request's deadline (deadline.ts), not only after
 * `connectionTimeoutMillis`: under load a request must not queue for a connection past the time its
 * caller waits for the answer, and a statement never sent is a statement that changed nothing. A
 * connection that arrives after its waiter gave up goes straight back to the pool.
 */
class DeadlinePool extends pg.Pool {
  override connect(): Promise<pg.PoolClient>;
  override connect(callback: (err: Error | undefined, client: pg.PoolClient | undefined, done: (release?: unknown) => void) => void): void;
  override connect(callback?: (err: Error | undefined, client: pg.PoolClient | undefined, done: (release?: unknown) => void) => void): Promise<pg.PoolClient> | void {
    const deadline = currentDeadline();
    if (deadline === undefined) return callback ? super.connect(callback) : super.connect();
    const acquired = new Promise<pg.PoolClient>((resolve, reject) => {
      const left = deadline - Date.now();
      if (left <= 0) return reject(new DeadlineExceededError('waiting for a database connection'));
      let gaveUp = false;
      const timer = setTimeout(() => {
        gaveUp = true;
        reject(new DeadlineExceededError('waiting for a database connection'));
      }, left);
      super.connect((error, client, release) => {
        clearTimeout(timer);
        if (gaveUp) return void (client && release());
        if (error || !client) reject(error ?? new Error('no connection'));
        else resolve(client);
      });
    });
    if (!callback) return acquired;
    acquired.then(
      (client) => callback(undefined, client, (release) => client.release(release as boolean | Error | undefined)),
      (error: Error) => callback(error, undefined, () => {}),
    );
  }
}

/**
 * The adapter Prisma gets when there are replicas: the primary's, except that a read (isRead)
 * outside a transaction inside a read scope goes to the scope's replica. A read that fails there is
 * sent to the primary instead (reads may be sent twice), so a replica going away costs no request.
 */
export function routingFactory(primary: SqlDriverAdapterFactory, replicas: readonly SqlDriverAdapterFactory[]): SqlDriverAdapterFactory {
  return {
    provider: primary.provider,
    adapterName: primary.adapterName,
    connect: async () => {
      const main = await primary.connect();
      const others = await Promise.all(replicas.map((replica) => replica.connect()));
      const queryRaw = async (query: SqlQuery) => {
        const scope = readScope.getStore();
        const replica: SqlDriverAdapter | undefined = scope && isRead(query.sql) ? others[scope.replica] : undefined;
        if (!scope || !replica) return main.queryRaw(query);
        try {
          return await replica.queryRaw(query);
        } catch (error) {
          if (isDeadlineExceeded(error)) throw error;
          scope.failed(error);
          return main.queryRaw(query);
        }
      };
      const dispose = async () => void (await Promise.all([main.dispose(), ...others.map((other) => other.dispose())]));
      return new Proxy(main, {
        get(object, property) {
          if (property === 'queryRaw') return queryRaw;
          if (property === 'dispose') return dispose;
          const value: unknown = Reflect.get(object, property, object);
          return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(object) : value;
        },
      });
    },
  };
}

/** A replica that does not answer within this long is taken for down (its reads go to the primary). */
const REPLICA_CONNECT_TIMEOUT_MS = 1000;

function openPostgres(target: Extract<DatabaseTarget, { kind: 'postgres' }>, onStatement: (target: StatementTarget) => void, poolSize: number): Omit<Database, 'sql'> {
  const { url, schema } = target;
  const configOf = (connectionString: string) => ({ connectionString, options: `-c search_path=${quoteIdent(schema)}` });
  const config = configOf(url);
  const pool = new DeadlinePool({ ...config, max: poolSize, connectionTimeoutMillis: 5000 });
  pool.on('error', () => {}); // an idle client dropped by the server: the pool replaces it
  // DATABASE_POOL_SIZE applies to each pool: the primary's and every replica's.
  const replicaPools = (target.replicas ?? []).map((replicaUrl) => {
    const replicaPool = new DeadlinePool({ ...configOf(replicaUrl), max: poolSize, connectionTimeoutMillis: REPLICA_CONNECT_TIMEOUT_MS });
    replicaPool.on('error', () => {});
    return replicaPool;
  });
  const toPrimary = () => onStatement('primary');
  const toReplica = () => onStatement('replica');
  const primaryAdapter = countingFactory(new PrismaPg(pool, { schema }), toPrimary, poolSize + 1);
  // A read that fails on a replica is not retried there: the routing adapter sends it to the primary.
  const replicaAdapters = replicaPools.map((replicaPool) => countingFactory(new PrismaPg(replicaPool, { schema }), toReplica));
  const one = async <T>(on: pg.Pool, count: () => void, sql: string): Promise<T> => {
    count();
    return (await on.query(sql)).rows[0] as T;
  };
  const system = '(SELECT system_identifier FROM pg_control_system())::text AS system';
  const replicas: ReplicaLink | null = replicaPools.length === 0 ? null : {
    count: replicaPools.length,
    commitPosition: async () => parseLsn((await one<{ lsn: string }>(pool, toPrimary, 'SELECT pg_current_wal_insert_lsn()::text AS lsn')).lsn),
    primary: async () => {
      const row = await one<{ written: string; inserted: string; system: string }>(pool, toPrimary, `SELECT pg_current_wal_lsn()::text AS written, pg_current_wal_insert_lsn()::text AS inserted, ${system}`);
      return { written: parseLsn(row.written), inserted: parseLsn(row.inserted), system: row.system };
    },
    probe: async (index) => {
      const replicaPool = replicaPools[index];
      if (!replicaPool) throw new Error(`no replica ${index}`);
      const row = await one<{ recovering: boolean; replayed: string | null; age_ms: number | null; system: string }>(
        replicaPool,
        toReplica,
        `SELECT pg_is_in_recovery() AS recovering, pg_last_wal_replay_lsn()::text AS replayed,
                (EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp()) * 1000)::float8 AS age_ms, ${system}`,
      );
      // A promoted replica (or a primary given as one) replays nothing: it is not a replica of ours.
      if (!row.recovering || row.replayed === null) throw new Error(`replica ${index} is not in recovery`);
      return { replayed: parseLsn(row.replayed), ageMs: Math.max(0, row.age_ms ?? 0), system: row.system };
    },
  };
  return {
    target,
    adapter: replicaAdapters.length === 0 ? primaryAdapter : routingFactory(primaryAdapter, replicaAdapters),
    runner: async () => {
      const client = new pg.Client(config);
      await client.connect();
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
      return {
        exec: async (script) => void (await client.query(script)),
        query: async <T>(sql: string, params?: unknown[]) => (await client.query(sql, params)).rows as T[],
        release: () => client.end(),
      };
    },
    ping: async () => pool.query('SELECT 1').then(() => true, () => false),
    replicas,
    close: async () => void (await Promise.all([pool.end(), ...replicaPools.map((replicaPool) => replicaPool.end())])),
  };
}

/** Connections per pool (the primary's, and each replica's) when DATABASE_POOL_SIZE is not set. */
export const DEFAULT_POOL_SIZE = 10;

export function openDatabase(target: DatabaseTarget, options: { onStatement?: (target: StatementTarget) => void; poolSize?: number } = {}): Database {
  const onStatement = options.onStatement ?? (() => {});
  const opened = target.kind === 'pglite'
    ? openPglite(target.dataDir, () => onStatement('primary'))
    : openPostgres(target, onStatement, options.poolSize ?? DEFAULT_POOL_SIZE);
  const sql = new DirectSql(opened.adapter);
  return { ...opened, sql, close: async () => (await sql.dispose(), await opened.close()) };
}
