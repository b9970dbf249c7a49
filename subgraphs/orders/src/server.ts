// Builds the orders subgraph (no listening): database, Prisma, loaders, resolvers, the saga, HTTP shell.
import { createSubgraphService, prepareSubgraph, requireSharedBus, type Service, type SubgraphConfig, type SubgraphDependencies } from '@commerce/subgraph-kit';
import { Admission } from '@commerce/platform/admission';
import { ProductCatalog } from './catalog.js';
import { PrismaClient } from './generated/prisma/client.js';
import { createLoaders } from './loaders.js';
import { OrdersRepository } from './repository.js';
import { resolvers } from './resolvers.js';
import { startIdempotencySweep } from './idempotency-sweep.js';
import { startOrderSaga } from './saga.js';

export async function createOrdersServer(config: SubgraphConfig, dependencies: SubgraphDependencies = {}): Promise<Service> {
  const runtime = await prepareSubgraph(config, dependencies);
  requireSharedBus(runtime);
  const prisma = new PrismaClient({ adapter: runtime.database.adapter });
  const repository = new OrdersRepository(prisma, runtime.database.sql);
  const saga = startOrderSaga({ repository, bus: runtime.bus, cache: runtime.cache, saga: config.saga, logger: runtime.logger });
  const catalog = new ProductCatalog(config.saga.productsUrl, { cache: runtime.cache });
  const placing = new Admission(config.saga.placeOrderConcurrency, 'waiting to place the order');
  const sweep = startIdempotencySweep(repository, runtime.logger);
  return createSubgraphService({
    runtime,
    resolvers,
    context: (base) => ({ ...base, repository, saga, catalog, placing, loaders: createLoaders(repository, base.cache) }),
    onStop: async () => {
      catalog.shutdown();
      sweep.stop();
      await saga.stop();
      await prisma.$disconnect();
    },
  });
}
