import { describe, expect, it } from 'vitest';
import { errorCodeOf } from './testing.js';
import { PAGE_SIZE, pageRequest, toConnection } from './pagination.js';

const cursorOf = (n: number) => `c${n}`;

describe('pageRequest', () => {
  it('defaults to the first 20, forwards', () => {
    expect(pageRequest({})).toEqual({ direction: 'forward', size: PAGE_SIZE.default, cursor: null });
    expect(pageRequest({ first: null, after: null })).toEqual({ direction: 'forward', size: 20, cursor: null });
    expect(pageRequest({ last: 5, before: 'x' })).toEqual({ direction: 'backward', size: 5, cursor: 'x' });
    expect(pageRequest({ before: 'x' })).toEqual({ direction: 'backward', size: 20, cursor: 'x' });
  });

  it('accepts 0 to 100 and rejects the rest as BAD_USER_INPUT', () => {
    expect(pageRequest({ first: 0 }).size).toBe(0);
    expect(pageRequest({ first: 100 }).size).toBe(100);
    for (const args of [{ first: 101 }, { first: -1 }, { last: 101 }, { first: 1.5 }, { first: 5, last: 5 }, { first: 5, before: 'x' }, { after: 'x', last: 3 }]) {
      expect(errorCodeOf(() => pageRequest(args))).toBe('BAD_USER_INPUT');
    }
  });
});

describe('toConnection', () => {
  const forward = (size: number, cursor: string | null = null) => ({ direction: 'forward' as const, size, cursor });
  const backward = (size: number, cursor: string | null = null) => ({ direction: 'backward' as const, size, cursor });

  it('an empty list has no cursors and no neighbours', () => {
    expect(toConnection([], forward(10), cursorOf)).toEqual({
      edges: [],
      pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null },
    });
  });

  it('an exact page (no extra row) has no next page', () => {
    const connection = toConnection([1, 2, 3], forward(3), cursorOf);
    expect(connection.edges.map((e) => e.node)).toEqual([1, 2, 3]);
    expect(connection.pageInfo).toEqual({ hasNextPage: false, hasPreviousPage: false, startCursor: 'c1', endCursor: 'c3' });
  });

  it('the extra row means a next page and is not returned', () => {
    const connection = toConnection([1, 2, 3, 4], forward(3), cursorOf);
    expect(connection.edges.map((e) => e.node)).toEqual([1, 2, 3]);
    expect(connection.pageInfo.hasNextPage).toBe(true);
  });

  it('a last page after a cursor has a previous page and no next', () => {
    const connection = toConnection([8, 9], forward(3, 'c7'), cursorOf);
    expect(connection.pageInfo).toEqual({ hasNextPage: false, hasPreviousPage: true, startCursor: 'c8', endCursor: 'c9' });
  });

  it('backward pages arrive reversed and are returned in list order', () => {
    // last: 2 before c10, fetched newest-first as 9, 8 and the extra 7
    const connection = toConnection([9, 8, 7], backward(2, 'c10'), cursorOf);
    expect(connection.edges.map((e) => e.node)).toEqual([8, 9]);
    expect(connection.pageInfo).toEqual({ hasNextPage: true, hasPreviousPage: true, startCursor: 'c8', endCursor: 'c9' });
    const first = toConnection([2, 1], backward(2), cursorOf);
    expect(first.edges.map((e) => e.node)).toEqual([1, 2]);
    expect(first.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: false });
  });
});
