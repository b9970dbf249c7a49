// Builds the orders subgraph (no listening): database, Prisma, loaders, resolvers, HTTP shell.
import { createSubgraphService, prepareSubgraph, type Service, type SubgraphConfig, type SubgraphDependencies } from '@commerce/shared';
import { PrismaClient } from './generated/prisma/client.js';
import { createLoaders } from './loaders.js';
import { OrdersRepository } from './repository.js';
import { resolvers } from './resolvers.js';

export async function createOrdersServer(config: SubgraphConfig, dependencies: SubgraphDependencies = {}): Promise<Service> {
  const runtime = await prepareSubgraph(config, dependencies);
  const prisma = new PrismaClient({ adapter: runtime.database.adapter });
  const repository = new OrdersRepository(prisma);
  return createSubgraphService({
    runtime,
    resolvers,
    context: (base) => ({ ...base, repository, loaders: createLoaders(repository, base.cache) }),
    onStop: () => prisma.$disconnect(),
  });
}
