// What bench:gateway sends. "few": four named queries over and over from many connections, the
// public benchmarks' shape (their one heavy query, TestQuery here, crosses all four subgraphs
// eight levels deep), where identical requests are in flight together. "distinct": one nested
// query whose variables are drawn from a million users and ten thousand products, so no two requests
// in a run ask the same (no cache and no deduplication can help; the query plan is the same).
import { PRODUCTS, USERS } from './storefront.js';

const FRAGMENTS = `
fragment UserFields on User { id username name }
fragment ReviewFields on Review { id body }
fragment ProductFields on Product { upc name price weight inStock shippingEstimate }`;

export const FEW_QUERIES: Record<string, string> = {
  TestQuery: `query TestQuery {
  users {
    ...UserFields
    reviews { ...ReviewFields product { ...ProductFields reviews { ...ReviewFields author { ...UserFields reviews { ...ReviewFields product { ...ProductFields } } } } } }
  }
  topProducts {
    ...ProductFields
    reviews { ...ReviewFields author { ...UserFields reviews { ...ReviewFields product { ...ProductFields } } } }
  }
}${FRAGMENTS}`,
  TopProducts: 'query TopProducts { topProducts(first: 10) { upc name price inStock shippingEstimate reviews { body author { username } } } }',
  UserReviews: 'query UserReviews { user(id: "42") { username name reviews { body product { name price inStock shippingEstimate } } } }',
  Me: 'query Me { me { id name birthday reviews { id product { upc name shippingEstimate reviews { author { id username } } } } } }',
};

export const DISTINCT_QUERY = `query UserPage($id: ID!, $upc: String!) {
  user(id: $id) {
    ...UserFields birthday
    reviews { ...ReviewFields product { ...ProductFields reviews { ...ReviewFields author { ...UserFields } } } }
  }
  product(upc: $upc) { upc name price shippingEstimate reviews { body author { username } } }
}${FRAGMENTS}`;

/** Variables for the distinct workload: a user and a product drawn at random (every subgraph fetch differs too). */
export function distinctVariables(random: () => number = Math.random): { id: string; upc: string } {
  return { id: String(1 + Math.floor(random() * USERS)), upc: String(1 + Math.floor(random() * PRODUCTS)) };
}

export const fewBodies = (): string[] => Object.entries(FEW_QUERIES).map(([operationName, query]) => JSON.stringify({ query, operationName }));

export const distinctBody = (random?: () => number): string => JSON.stringify({ query: DISTINCT_QUERY, operationName: 'UserPage', variables: distinctVariables(random) });
