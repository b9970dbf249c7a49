import { describe, expect, it } from 'vitest';
import { formatErrorFor } from './errors.js';

const intended = { message: 'You may not see this.', path: ['user', 'email'], extensions: { code: 'FORBIDDEN', stacktrace: ['GraphQLError: …', '    at x (/srv/a.ts:1:1)'] } };
const unexpected = { message: 'relation "products" does not exist', path: ['products'], extensions: { code: 'INTERNAL_SERVER_ERROR', stacktrace: ['Error: relation …'] } };

describe('formatErrorFor', () => {
  it('keeps intended errors and their codes, without stack traces, in every environment', () => {
    for (const env of ['development', 'test', 'production']) {
      expect(formatErrorFor(env)(intended)).toEqual({ message: 'You may not see this.', path: ['user', 'email'], extensions: { code: 'FORBIDDEN' } });
    }
  });

  it('never passes on the internal URL and body of a subgraph\'s non-2xx answer', () => {
    const fromSubgraph = { message: '401: Unauthorized', extensions: { code: 'UNAUTHENTICATED', serviceName: 'users', response: { url: 'http://10.0.0.7:4001/graphql', status: 401, body: { errors: [] } } } };
    for (const env of ['development', 'production']) {
      expect(formatErrorFor(env)(fromSubgraph)).toEqual({ message: '401: Unauthorized', extensions: { code: 'UNAUTHENTICATED', serviceName: 'users' } });
    }
  });

  it('hides unexpected errors outside development, and keeps them whole in development', () => {
    for (const env of ['test', 'production']) {
      expect(formatErrorFor(env)(unexpected)).toEqual({ message: 'Internal server error', path: ['products'], locations: undefined, extensions: { code: 'INTERNAL_SERVER_ERROR' } });
      expect(formatErrorFor(env)({ message: 'boom' })).toMatchObject({ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } });
    }
    expect(formatErrorFor('development')(unexpected)).toEqual(unexpected);
  });
});
