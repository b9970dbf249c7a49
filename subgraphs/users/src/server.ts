// Builds the users subgraph (no listening): database, Prisma, loaders, resolvers, HTTP shell.
import { createSubgraphService, prepareSubgraph, type Service, type SubgraphConfig, type SubgraphDependencies } from '@commerce/subgraph-kit';
import { PrismaClient } from './generated/prisma/client.js';
import { createLoaders } from './loaders.js';
import { UsersRepository } from './repository.js';
import { resolvers } from './resolvers.js';

export async function createUsersServer(config: SubgraphConfig, dependencies: SubgraphDependencies = {}): Promise<Service> {
  const runtime = await prepareSubgraph(config, dependencies);
  const prisma = new PrismaClient({ adapter: runtime.database.adapter });
  const repository = new UsersRepository(prisma);
  return createSubgraphService({
    runtime,
    resolvers,
    context: (base) => ({ ...base, repository, loaders: createLoaders(repository, base.cache) }),
    onStop: () => prisma.$disconnect(),
  });
}
