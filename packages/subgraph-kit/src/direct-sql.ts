// Raw SQL for the hot paths (placeOrder's statements, the saga's decisions, reservations), sent
// straight to the driver adapter Prisma itself uses, without Prisma's client in between. The
// adapter is the same one (database.ts): every statement is counted in sql_statements_total, waits
// for a connection only until the request's deadline, takes its turn on PGlite, and a read in a
// read scope goes to a replica. What it skips is the client's query runtime around each raw
// statement: in a burst of orders that was about a tenth of the orders process's CPU.
//
// Answers come back as Prisma's $queryRawUnsafe gives them for the types these statements read:
// objects by column name, timestamps as Date, json as parsed values, bigint as BigInt.
import type { ArgType, SqlDriverAdapter, SqlDriverAdapterFactory, SqlQuery, SqlResultSet } from '@prisma/driver-adapter-utils';
import { ColumnTypeEnum } from '@prisma/driver-adapter-utils';
import type { RawSql } from '@commerce/messaging/outbox';
import { tracing } from '@commerce/platform/tracing';

const SCALAR: ArgType = { scalarType: 'unknown', arity: 'scalar' };
const LIST: ArgType = { scalarType: 'unknown', arity: 'list' };

const toDate = (value: unknown): unknown => (typeof value === 'string' ? new Date(value) : value);
const toJson = (value: unknown): unknown => (typeof value === 'string' ? JSON.parse(value) : value);
const toBigInt = (value: unknown): unknown => (typeof value === 'string' || typeof value === 'number' ? BigInt(value) : value);

const CONVERT: Partial<Record<number, (value: unknown) => unknown>> = {
  [ColumnTypeEnum.DateTime]: toDate,
  [ColumnTypeEnum.Date]: toDate,
  [ColumnTypeEnum.Json]: toJson,
  [ColumnTypeEnum.Int64]: toBigInt,
  [ColumnTypeEnum.DateTimeArray]: (value) => (Array.isArray(value) ? value.map(toDate) : value),
  [ColumnTypeEnum.JsonArray]: (value) => (Array.isArray(value) ? value.map(toJson) : value),
};

/** Rows of a result set as objects keyed by column name. */
export function rowsOf(result: SqlResultSet): Array<Record<string, unknown>> {
  const { columnNames, columnTypes } = result;
  const converters = columnTypes.map((type) => CONVERT[type]);
  return result.rows.map((values) => {
    const row: Record<string, unknown> = {};
    for (let i = 0; i < columnNames.length; i++) {
      const value = values[i];
      const convert = converters[i];
      row[columnNames[i]!] = value === null || value === undefined || !convert ? (value ?? null) : convert(value);
    }
    return row;
  });
}

export class DirectSql implements RawSql {
  private adapter: Promise<SqlDriverAdapter> | null = null;

  constructor(private readonly factory: SqlDriverAdapterFactory) {}

  async $queryRawUnsafe<T = unknown>(sql: string, ...values: unknown[]): Promise<T> {
    const adapter = await this.connected();
    return rowsOf(await this.send(sql, () => adapter.queryRaw(query(sql, values)))) as T;
  }

  async $executeRawUnsafe(sql: string, ...values: unknown[]): Promise<number> {
    const adapter = await this.connected();
    return this.send(sql, () => adapter.executeRaw(query(sql, values)));
  }

  /** Hands the adapter back (the pools themselves are the database's to close). */
  async dispose(): Promise<void> {
    const adapter = this.adapter;
    this.adapter = null;
    if (adapter) await (await adapter.catch(() => null))?.dispose();
  }

  private connected(): Promise<SqlDriverAdapter> {
    if (!this.adapter) {
      const connecting = this.factory.connect();
      this.adapter = connecting;
      // A failed connect is tried again by the next statement.
      connecting.catch(() => {
        if (this.adapter === connecting) this.adapter = null;
      });
    }
    return this.adapter;
  }

  private send<T>(sql: string, run: () => Promise<T>): Promise<T> {
    const hooks = tracing();
    return hooks ? hooks.sqlSpan(sql, run) : run();
  }
}

function query(sql: string, values: readonly unknown[]): SqlQuery {
  return { sql, args: [...values], argTypes: values.map((value) => (Array.isArray(value) ? LIST : SCALAR)) };
}
