// Thin resolvers: unpack arguments, call a loader or the repository.
import { cursorFor, DateTime, pageRequest, toConnection } from '@commerce/shared';
import type { Resolvers } from './generated/resolvers-types.js';
import { USER_ORDER } from './repository.js';

export const resolvers: Resolvers = {
  DateTime,
  Query: {
    me: (_parent, _args, { viewer, loaders }) => (viewer ? loaders.user.load(viewer.userId) : null),
    user: (_parent, { id }, { loaders }) => loaders.user.load(id),
    users: async (_parent, args, { repository }) => {
      const request = pageRequest(args);
      const rows = await repository.listUsers(request);
      return { ...toConnection(rows, request, (row) => cursorFor(USER_ORDER, row)), totalCount: () => repository.countUsers() };
    },
  },
  User: {
    __resolveReference: (reference, { loaders }) => loaders.user.load(reference.id),
  },
};
