// Resolver types generated from each subgraph's SDL, so a resolver that does not match its
// field is a compile error. Run by `npm run generate` (also at postinstall).
import type { CodegenConfig } from '@graphql-codegen/cli';

const subgraph = (name: string, mappers: Record<string, string>) => ({
  [`subgraphs/${name}/src/generated/resolvers-types.ts`]: {
    schema: `schema/${name}.graphql`,
    plugins: ['typescript', 'typescript-resolvers'],
    config: {
      federation: true,
      useIndexSignature: true,
      contextType: '../context.js#Context',
      mappers,
      scalars: { DateTime: 'Date | string' },
      enumsAsTypes: true,
      useTypeImports: true,
      maybeValue: 'T | null | undefined',
    },
  },
});

const config: CodegenConfig = {
  silent: true,
  generates: {
    ...subgraph('users', { User: '../repository.js#UserRow', UserConnection: '../repository.js#UserPage' }),
    ...subgraph('products', { Product: '../repository.js#ProductRow', ProductConnection: '../repository.js#ProductPage' }),
    ...subgraph('orders', { Order: '../repository.js#OrderRow', OrderItem: '../repository.js#OrderItemRow', OrderConnection: '../repository.js#OrderPage', User: '../repository.js#UserReference' }),
  },
};
export default config;
