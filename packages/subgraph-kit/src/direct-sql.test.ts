// DirectSql answers in the shapes Prisma's $queryRawUnsafe gives for the same columns, so a
// repository can send a statement either way and read the same rows.
import { ColumnTypeEnum } from '@prisma/driver-adapter-utils';
import { describe, expect, it } from 'vitest';
import { rowsOf } from './direct-sql.js';

describe('DirectSql rows', () => {
  it('are objects by column name with timestamps as Date, json parsed, bigint as BigInt, and the rest as the driver gave them', () => {
    const rows = rowsOf({
      columnNames: ['id', 'createdAt', 'payload', 'n', 'total', 'missing'],
      columnTypes: [ColumnTypeEnum.Uuid, ColumnTypeEnum.DateTime, ColumnTypeEnum.Json, ColumnTypeEnum.Int64, ColumnTypeEnum.Int32, ColumnTypeEnum.DateTime],
      rows: [['00000000-0000-4000-8000-000000000001', '2026-12-02T21:00:00.123+00:00', '{"a":[1,2]}', '42', 1999, null]],
    });
    expect(rows).toEqual([{ id: '00000000-0000-4000-8000-000000000001', createdAt: new Date('2026-12-02T21:00:00.123Z'), payload: { a: [1, 2] }, n: 42n, total: 1999, missing: null }]);
    expect(rows[0]!.createdAt).toBeInstanceOf(Date);
  });
});
