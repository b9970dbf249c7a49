// Opaque keyset cursors: base64url of a small JSON array naming the list they belong to and the
// sort values, then a dot and a checksum. A cursor from another list or order, or one that was edited, is rejected
// as BAD_USER_INPUT. (Cursors only say where to continue; they grant nothing, so a checksum is enough.)
import { createHash } from 'node:crypto';
import { badUserInput } from '@commerce/platform/errors';

export type CursorValue = string | number;

const checksum = (body: string): string => createHash('sha256').update(`cursor:v1:${body}`).digest('base64url').slice(0, 10);

export function encodeCursor(kind: string, values: CursorValue[]): string {
  const body = Buffer.from(JSON.stringify([kind, ...values])).toString('base64url');
  return `${body}.${checksum(body)}`;
}

/** The values of a cursor made by `encodeCursor(kind, …)` with the given value types, or a BAD_USER_INPUT error. */
export function decodeCursor(cursor: string, kind: string, types: Array<'string' | 'number' | 'date'>): CursorValue[] {
  const invalid = () => badUserInput('Invalid cursor: use a cursor returned by this list with the same sort order.', { argument: 'cursor' });
  const match = /^([A-Za-z0-9_-]{1,512})\.([A-Za-z0-9_-]{10})$/.exec(cursor);
  if (!match || match[2] !== checksum(match[1] as string)) throw invalid();
  let parts: unknown;
  try {
    parts = JSON.parse(Buffer.from(match[1] as string, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (!Array.isArray(parts) || parts[0] !== kind || parts.length !== types.length + 1) throw invalid();
  const values = parts.slice(1);
  values.forEach((value, i) => {
    const type = types[i];
    const ok = type === 'number' ? Number.isSafeInteger(value)
      : type === 'date' ? typeof value === 'string' && !Number.isNaN(Date.parse(value))
      : typeof value === 'string';
    if (!ok) throw invalid();
  });
  return values as CursorValue[];
}
