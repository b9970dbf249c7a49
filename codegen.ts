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

const mappers: Record<string, Record<string, string>> = {
  users: { User: '../repository.js#UserRow', UserConnection: '../repository.js#UserPage' },
  products: { Product: '../repository.js#ProductRow', ProductConnection: '../repository.js#ProductPage' },
  orders: { Order: '../repository.js#OrderRow', OrderItem: '../repository.js#OrderItemRow', OrderConnection: '../repository.js#OrderPage', User: '../repository.js#UserReference' },
};
// scripts/generate.mjs names the subgraphs to generate (turbo runs one workspace at a time).
const only = process.env.CODEGEN_SUBGRAPHS?.split(',') ?? Object.keys(mappers);

const config: CodegenConfig = {
  silent: true,
  generates: Object.assign({}, ...only.map((name) => subgraph(name, mappers[name] ?? {}))),
};
export default config;
