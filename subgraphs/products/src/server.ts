// Builds the products subgraph (no listening): database, Prisma, loaders, resolvers, HTTP shell.
import { createSubgraphService, prepareSubgraph, requireSharedBus, type Service, type SubgraphConfig, type SubgraphDependencies } from '@commerce/subgraph-kit';
import { PrismaClient } from './generated/prisma/client.js';
import { createLoaders } from './loaders.js';
import { ProductsRepository } from './repository.js';
import { resolvers } from './resolvers.js';
import { startStockSaga } from './saga.js';

export async function createProductsServer(config: SubgraphConfig, dependencies: SubgraphDependencies = {}): Promise<Service> {
  const runtime = await prepareSubgraph(config, dependencies);
  requireSharedBus(runtime);
  const prisma = new PrismaClient({ adapter: runtime.database.adapter });
  const repository = new ProductsRepository(prisma, runtime.database.sql);
  const saga = startStockSaga({ repository, bus: runtime.bus, cache: runtime.cache, saga: config.saga, logger: runtime.logger });
  return createSubgraphService({
    runtime,
    resolvers,
    context: (base) => ({ ...base, repository, loaders: createLoaders(repository, base.cache) }),
    onStop: async () => {
      await saga.stop();
      await prisma.$disconnect();
    },
  });
}
