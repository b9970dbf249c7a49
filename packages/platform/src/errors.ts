// Request failures are GraphQLErrors with a stable extensions.code (the codes: docs/api.md, "Error codes").
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { isDeadlineExceeded } from './deadline.js';

export const ErrorCode = {
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
  /** The caller's deadline (`x-deadline-ms`) passed before this could be answered; nothing was changed. */
  DEADLINE_EXCEEDED: 'DEADLINE_EXCEEDED',
} as const;

export function badUserInput(message: string, extensions: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { code: ErrorCode.BAD_USER_INPUT, ...extensions } });
}

/**
 * Hides what a client must not see. An error that carries a stable code other than
 * INTERNAL_SERVER_ERROR was raised on purpose (by us, by Apollo, or by a subgraph behind the
 * gateway): it keeps its message, never a stack trace (it would only show library internals).
 * Anything else is unexpected: outside development it becomes a bare INTERNAL_SERVER_ERROR with no
 * message detail, SQL or stack trace; in development it keeps both, to debug with.
 */
export function formatErrorFor(nodeEnv: string) {
  return (formatted: GraphQLFormattedError, error?: unknown): GraphQLFormattedError => {
    if (isDeadlineExceeded(error)) {
      return { message: "The request's deadline passed before this could be answered; nothing was changed. Try again.", locations: formatted.locations, path: formatted.path, extensions: { code: ErrorCode.DEADLINE_EXCEEDED } };
    }
    const code = formatted.extensions?.code;
    if (typeof code === 'string' && code !== ErrorCode.INTERNAL_SERVER_ERROR) {
      // `response` is what the gateway's data source attaches when a subgraph answers non-2xx:
      // an internal URL and raw body, never for clients.
      if (formatted.extensions?.stacktrace === undefined && formatted.extensions?.response === undefined) return formatted;
      const { stacktrace: _stacktrace, response: _response, ...extensions } = formatted.extensions;
      return { ...formatted, extensions };
    }
    if (nodeEnv === 'development') return formatted;
    return { message: 'Internal server error', locations: formatted.locations, path: formatted.path, extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } };
  };
}
