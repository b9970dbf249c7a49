// Thin resolvers: check who may ask, unpack arguments, call a loader or the repository.
import { randomBytes } from 'node:crypto';
import {
  cursorFor, DateTime, entityTag, forbidden, listTag, isUniqueViolation, pageRequest, parseInput, requireAdmin, requireSelfOrAdmin, requireUser, toConnection, userError,
} from '@commerce/subgraph-kit';
import type { Resolvers } from './generated/resolvers-types.js';
import { createApiClientInput, updateMeInput } from './inputs.js';
import { USER_ORDER } from './repository.js';

export const resolvers: Resolvers = {
  DateTime,
  Query: {
    me: (_parent, _args, { viewer, loaders }) => (viewer ? loaders.user.load(viewer.userId) : null),
    user: (_parent, { id }, { loaders }) => loaders.user.load(id),
    users: async (_parent, args, { viewer, repository, cache }) => {
      requireAdmin(viewer);
      const request = pageRequest(args);
      const lists = [listTag('User')];
      const rows = await cache.read(lists, () => repository.listUsers(request), (users) => users.map((user) => entityTag('User', user.id)));
      return { ...toConnection(rows, request, (row) => cursorFor(USER_ORDER, row)), totalCount: () => cache.read(lists, () => repository.countUsers()) };
    },
    _apiClientByKey: (_parent, { key }, { identity, repository }) => {
      if (identity.kind !== 'service') throw forbidden('Only the gateway may look up API keys.');
      return repository.apiClientByKey(key);
    },
  },
  Mutation: {
    updateMe: async (_parent, { input }, { viewer, repository, cache }) => {
      const me = requireUser(viewer);
      const parsed = parseInput(updateMeInput, input);
      if (!parsed.ok) return { user: null, userErrors: parsed.userErrors };
      const user = await repository.updateUser(me.userId, parsed.data);
      if (user) await cache.purge([entityTag('User', me.userId)]);
      return user ? { user, userErrors: [] } : { user: null, userErrors: [userError(null, 'Your account no longer exists.', 'NOT_FOUND')] };
    },
    createApiClient: async (_parent, { input }, { viewer, repository }) => {
      requireAdmin(viewer);
      const parsed = parseInput(createApiClientInput, input);
      if (!parsed.ok) return { apiClient: null, apiKey: null, userErrors: parsed.userErrors };
      const apiKey = `ck_${randomBytes(24).toString('base64url')}`;
      try {
        const apiClient = await repository.createApiClient(parsed.data.name, parsed.data.tier, apiKey);
        return { apiClient, apiKey, userErrors: [] };
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        return { apiClient: null, apiKey: null, userErrors: [userError(['input', 'name'], 'A client with this name exists.', 'TAKEN')] };
      }
    },
    revokeApiClient: async (_parent, { name }, { viewer, repository }) => {
      requireAdmin(viewer);
      const apiClient = await repository.revokeApiClient(name);
      return apiClient ? { apiClient, userErrors: [] } : { apiClient: null, userErrors: [userError(['name'], 'No client has this name.', 'NOT_FOUND')] };
    },
  },
  User: {
    __resolveReference: (reference, { loaders }) => loaders.user.load(reference.id),
    email: (user, _args, { viewer }) => {
      requireSelfOrAdmin(viewer, user.id);
      return user.email;
    },
  },
};
