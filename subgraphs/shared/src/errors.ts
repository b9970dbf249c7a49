// Request failures are GraphQLErrors with a stable extensions.code (see ARCHITECTURE.md).
import { GraphQLError, type GraphQLFormattedError } from 'graphql';

export const ErrorCode = {
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
} as const;

export function badUserInput(message: string, extensions: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { code: ErrorCode.BAD_USER_INPUT, ...extensions } });
}

/**
 * Hides what a client must not see: outside development an unexpected error (a bug, a database
 * failure) becomes a plain INTERNAL_SERVER_ERROR with no message detail, SQL or stack trace.
 */
export function formatErrorFor(nodeEnv: string) {
  return (formatted: GraphQLFormattedError): GraphQLFormattedError => {
    if (nodeEnv === 'development') return formatted;
    // An error that carries a stable code was raised on purpose (by us, by Apollo, or by a
    // subgraph behind the gateway); anything else is unexpected and shown only as its code.
    const code = formatted.extensions?.code;
    if (typeof code === 'string' && code !== ErrorCode.INTERNAL_SERVER_ERROR) return formatted;
    return { message: 'Internal server error', locations: formatted.locations, path: formatted.path, extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } };
  };
}
