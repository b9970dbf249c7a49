// Relay connections over keyset pages. A page is fetched as size + 1 rows in the direction of
// travel; the extra row only says whether more follow.
import { badUserInput } from '@commerce/platform/errors';
import { PAGE_SIZE } from '@commerce/platform/page-size';

export { PAGE_SIZE };

export interface PageArgs {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
}

export interface PageRequest {
  /** forward: from the start (or after `cursor`); backward: from the end (or before `cursor`). */
  direction: 'forward' | 'backward';
  size: number;
  /** The raw cursor to continue from, if any. */
  cursor: string | null;
}

export interface Connection<T> {
  edges: Array<{ cursor: string; node: T }>;
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
}

function size(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 0 || value > PAGE_SIZE.max) {
    throw badUserInput(`\`${name}\` must be an integer from 0 to ${PAGE_SIZE.max}.`, { argument: name, max: PAGE_SIZE.max });
  }
  return value;
}

/** Validates Relay arguments: `first` with `after`, or `last` with `before`; never both directions. */
export function pageRequest(args: PageArgs): PageRequest {
  const { first, after, last, before } = args;
  const forward = first != null || after != null;
  const backward = last != null || before != null;
  if (forward && backward) {
    throw badUserInput('Use `first`/`after` to page forwards or `last`/`before` to page backwards, not both.', { argument: first != null && last != null ? 'last' : 'before' });
  }
  if (backward) return { direction: 'backward', size: last == null ? PAGE_SIZE.default : size('last', last), cursor: before ?? null };
  return { direction: 'forward', size: first == null ? PAGE_SIZE.default : size('first', first), cursor: after ?? null };
}

/**
 * Builds a connection from rows fetched in the direction of travel (at most size + 1 of them).
 * Backward pages are fetched in reverse order and returned in the list's natural order.
 */
export function toConnection<T>(rows: T[], request: PageRequest, cursorOf: (row: T) => string): Connection<T> {
  const more = rows.length > request.size;
  const page = rows.slice(0, request.size);
  if (request.direction === 'backward') page.reverse();
  const edges = page.map((node) => ({ cursor: cursorOf(node), node }));
  return {
    edges,
    pageInfo: {
      hasNextPage: request.direction === 'forward' ? more : request.cursor !== null,
      hasPreviousPage: request.direction === 'backward' ? more : request.cursor !== null,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
  };
}

/** A connection whose totalCount is counted only when a client selects it (GraphQL calls the function). */
export type CountedConnection<T> = Connection<T> & { totalCount: () => Promise<number> };
