// Authorization helpers for resolvers. A field that needs a login answers UNAUTHENTICATED to an
// anonymous caller and FORBIDDEN to a signed-in one who may not see it; both leave the rest of the
// response intact (the field is null, the error names its path).
import { GraphQLError } from 'graphql';
import type { Identity, Role } from './identity.js';

/** A signed-in user. */
export interface Viewer {
  userId: string;
  role: Role;
}

export const viewerOf = (identity: Identity): Viewer | null =>
  identity.kind === 'user' ? { userId: identity.userId, role: identity.role } : null;

export const unauthenticated = (message = 'Sign in to see this.'): GraphQLError =>
  new GraphQLError(message, { extensions: { code: 'UNAUTHENTICATED' } });

/** Rejects the whole request (HTTP 401): a credential or identity was present but not acceptable. */
export const unauthenticatedRequest = (reason: string): GraphQLError =>
  new GraphQLError(`Unauthenticated: ${reason}.`, { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });

export const forbidden = (message = 'You may not see or change this.'): GraphQLError =>
  new GraphQLError(message, { extensions: { code: 'FORBIDDEN' } });

export function requireUser(viewer: Viewer | null): Viewer {
  if (!viewer) throw unauthenticated();
  return viewer;
}

export function requireAdmin(viewer: Viewer | null): Viewer {
  if (requireUser(viewer).role !== 'ADMIN') throw forbidden('Only an admin may do this.');
  return viewer as Viewer;
}

/** The user themself or an admin. */
export function requireSelfOrAdmin(viewer: Viewer | null, userId: string): Viewer {
  const signedIn = requireUser(viewer);
  if (signedIn.role !== 'ADMIN' && signedIn.userId !== userId) throw forbidden();
  return signedIn;
}
