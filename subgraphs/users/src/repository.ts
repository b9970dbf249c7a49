// The only file of the users subgraph that talks to Prisma.
import { type CountedConnection, keysetQuery, type KeysetOrder, type PageRequest } from '@commerce/shared';
import type { PrismaClient, User } from './generated/prisma/client.js';

export type UserRow = User;
export type UserPage = CountedConnection<UserRow>;

/** The user list: oldest first, ties broken by id. */
export const USER_ORDER: KeysetOrder<'createdAt'> = { list: 'users', field: 'createdAt', type: 'date', direction: 'asc' };

export class UsersRepository {
  constructor(private readonly prisma: PrismaClient) {}

  usersByIds(ids: readonly string[]): Promise<UserRow[]> {
    return this.prisma.user.findMany({ where: { id: { in: [...ids] } } });
  }

  /** One page of users in the direction of travel, one row more than asked. */
  listUsers(request: PageRequest): Promise<UserRow[]> {
    return this.prisma.user.findMany(keysetQuery(USER_ORDER, request));
  }

  countUsers(): Promise<number> {
    return this.prisma.user.count();
  }
}
