// Chooses the database driver once, at start: embedded PGlite (the zero-setup default) or
// PostgreSQL through node-postgres. Both give Prisma a driver adapter, wrapped so that every
// SQL statement sent is counted (sql_statements_total), and a raw runner for migrations and seeds.
import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import type { SqlDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import pg from 'pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import type { SqlRunner } from '@commerce/db/sql-runner';

export type DatabaseTarget =
  | { kind: 'pglite'; dataDir: string }
  | { kind: 'postgres'; url: string; schema: string };

export interface Database {
  readonly target: DatabaseTarget;
  /** The driver adapter to hand to `new PrismaClient({ adapter })`. */
  readonly adapter: SqlDriverAdapterFactory;
  /** A single-connection raw runner (transactions work across calls); for migrations and seeds. */
  runner(): Promise<SqlRunner & { release(): Promise<void> }>;
  /** True when the database answers a trivial query. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

const STATEMENT_METHODS = new Set(['queryRaw', 'executeRaw', 'executeScript', 'commit', 'rollback']);

/** Wraps an adapter (or a transaction it opens) so each statement it sends calls `onStatement`. */
function counting<T extends object>(target: T, onStatement: () => void): T {
  return new Proxy(target, {
    get(object, property) {
      const value: unknown = Reflect.get(object, property, object);
      if (typeof value !== 'function') return value;
      const fn = value as (...args: unknown[]) => unknown;
      if (property === 'startTransaction') {
        return async (...args: unknown[]) => {
          onStatement(); // BEGIN
          return counting((await fn.apply(object, args)) as object, onStatement);
        };
      }
      if (typeof property === 'string' && STATEMENT_METHODS.has(property)) {
        return (...args: unknown[]) => {
          onStatement();
          return fn.apply(object, args);
        };
      }
      return fn.bind(object);
    },
  });
}

function countingFactory(factory: SqlDriverAdapterFactory, onStatement: () => void): SqlDriverAdapterFactory {
  return {
    provider: factory.provider,
    adapterName: factory.adapterName,
    connect: async () => counting(await factory.connect(), onStatement),
  };
}

const quoteIdent = (name: string): string => `"${name.replaceAll('"', '""')}"`;

function openPglite(dataDir: string, onStatement: () => void): Database {
  mkdirSync(dataDir, { recursive: true });
  const client = new PGlite(dataDir);
  const runner: SqlRunner = {
    exec: async (script) => void (await client.exec(script)),
    query: async <T>(sql: string, params?: unknown[]) => (await client.query<T>(sql, params)).rows,
  };
  return {
    target: { kind: 'pglite', dataDir },
    adapter: countingFactory(new PrismaPGlite(client), onStatement),
    runner: async () => ({ ...runner, release: async () => {} }),
    ping: async () => client.query('SELECT 1').then(() => true, () => false),
    close: () => client.close(),
  };
}

function openPostgres(url: string, schema: string, onStatement: () => void, poolSize: number): Database {
  const config = { connectionString: url, options: `-c search_path=${quoteIdent(schema)}` };
  const pool = new pg.Pool({ ...config, max: poolSize, connectionTimeoutMillis: 5000 });
  pool.on('error', () => {}); // an idle client dropped by the server: the pool replaces it
  return {
    target: { kind: 'postgres', url, schema },
    adapter: countingFactory(new PrismaPg(pool, { schema }), onStatement),
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
    close: () => pool.end(),
  };
}

export function openDatabase(target: DatabaseTarget, options: { onStatement?: () => void; poolSize?: number } = {}): Database {
  const onStatement = options.onStatement ?? (() => {});
  return target.kind === 'pglite'
    ? openPglite(target.dataDir, onStatement)
    : openPostgres(target.url, target.schema, onStatement, options.poolSize ?? 10);
}
