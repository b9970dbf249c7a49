// The only file of the users subgraph that talks to Prisma.
import { type CountedConnection, keysetQuery, type KeysetOrder, type PageRequest } from '@commerce/subgraph-kit';
import { createHash, randomUUID } from 'node:crypto';
import type { ApiClient, PrismaClient, User } from './generated/prisma/client.js';

export type UserRow = User;
export type ApiClientRow = ApiClient;

/** Only a hash of an API key is stored; keys are long random strings, so one round of SHA-256 suffices. */
const keyHash = (apiKey: string): string => createHash('sha256').update(apiKey).digest('hex');
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

  /** Applies the given changes in one statement; null when there is no such user. */
  async updateUser(id: string, changes: { name?: string }): Promise<UserRow | null> {
    const { count } = await this.prisma.user.updateMany({ where: { id }, data: changes });
    return count === 0 ? null : this.prisma.user.findUnique({ where: { id } });
  }

  apiClientByKey(apiKey: string): Promise<ApiClientRow | null> {
    return this.prisma.apiClient.findUnique({ where: { keyHash: keyHash(apiKey) } });
  }

  /** Stores a new client with the hash of its key. Throws Prisma's unique violation when the name is taken. */
  createApiClient(name: string, tier: string, apiKey: string): Promise<ApiClientRow> {
    return this.prisma.apiClient.create({ data: { id: randomUUID(), name, tier, keyHash: keyHash(apiKey) } });
  }

  async revokeApiClient(name: string): Promise<ApiClientRow | null> {
    const { count } = await this.prisma.apiClient.updateMany({ where: { name }, data: { revoked: true } });
    return count === 0 ? null : this.prisma.apiClient.findUnique({ where: { name } });
  }
}
