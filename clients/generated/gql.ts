/* eslint-disable */
import * as types from './graphql.js';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "query Catalog($first: Int = 20, $after: String, $filter: ProductFilter) {\n  products(first: $first, after: $after, filter: $filter) {\n    totalCount\n    edges {\n      cursor\n      node {\n        ...ProductCard\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}": typeof types.CatalogDocument,
    "query MyOrders($first: Int = 10, $after: String) {\n  me {\n    id\n    name\n    orders(first: $first, after: $after) {\n      totalCount\n      edges {\n        cursor\n        node {\n          id\n          status\n          createdAt\n          total {\n            amount\n            currency\n          }\n          items {\n            quantity\n            unitPrice {\n              amount\n              currency\n            }\n            product {\n              id\n              name\n            }\n          }\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n}": typeof types.MyOrdersDocument,
    "mutation PlaceOrder($input: PlaceOrderInput!) {\n  placeOrder(input: $input) {\n    order {\n      id\n      status\n      rejectionReason\n      total {\n        amount\n        currency\n      }\n      items {\n        quantity\n        product {\n          id\n          name\n        }\n      }\n    }\n    userErrors {\n      field\n      message\n      code\n    }\n  }\n}": typeof types.PlaceOrderDocument,
    "fragment ProductCard on Product {\n  id\n  name\n  price {\n    amount\n    currency\n  }\n  stock\n}": typeof types.ProductCardFragmentDoc,
    "query ProductPage($id: ID!) {\n  product(id: $id) {\n    ...ProductCard\n    sku\n    description\n    category\n  }\n}": typeof types.ProductPageDocument,
};
const documents: Documents = {
    "query Catalog($first: Int = 20, $after: String, $filter: ProductFilter) {\n  products(first: $first, after: $after, filter: $filter) {\n    totalCount\n    edges {\n      cursor\n      node {\n        ...ProductCard\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}": types.CatalogDocument,
    "query MyOrders($first: Int = 10, $after: String) {\n  me {\n    id\n    name\n    orders(first: $first, after: $after) {\n      totalCount\n      edges {\n        cursor\n        node {\n          id\n          status\n          createdAt\n          total {\n            amount\n            currency\n          }\n          items {\n            quantity\n            unitPrice {\n              amount\n              currency\n            }\n            product {\n              id\n              name\n            }\n          }\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n}": types.MyOrdersDocument,
    "mutation PlaceOrder($input: PlaceOrderInput!) {\n  placeOrder(input: $input) {\n    order {\n      id\n      status\n      rejectionReason\n      total {\n        amount\n        currency\n      }\n      items {\n        quantity\n        product {\n          id\n          name\n        }\n      }\n    }\n    userErrors {\n      field\n      message\n      code\n    }\n  }\n}": types.PlaceOrderDocument,
    "fragment ProductCard on Product {\n  id\n  name\n  price {\n    amount\n    currency\n  }\n  stock\n}": types.ProductCardFragmentDoc,
    "query ProductPage($id: ID!) {\n  product(id: $id) {\n    ...ProductCard\n    sku\n    description\n    category\n  }\n}": types.ProductPageDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query Catalog($first: Int = 20, $after: String, $filter: ProductFilter) {\n  products(first: $first, after: $after, filter: $filter) {\n    totalCount\n    edges {\n      cursor\n      node {\n        ...ProductCard\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}"): (typeof documents)["query Catalog($first: Int = 20, $after: String, $filter: ProductFilter) {\n  products(first: $first, after: $after, filter: $filter) {\n    totalCount\n    edges {\n      cursor\n      node {\n        ...ProductCard\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query MyOrders($first: Int = 10, $after: String) {\n  me {\n    id\n    name\n    orders(first: $first, after: $after) {\n      totalCount\n      edges {\n        cursor\n        node {\n          id\n          status\n          createdAt\n          total {\n            amount\n            currency\n          }\n          items {\n            quantity\n            unitPrice {\n              amount\n              currency\n            }\n            product {\n              id\n              name\n            }\n          }\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n}"): (typeof documents)["query MyOrders($first: Int = 10, $after: String) {\n  me {\n    id\n    name\n    orders(first: $first, after: $after) {\n      totalCount\n      edges {\n        cursor\n        node {\n          id\n          status\n          createdAt\n          total {\n            amount\n            currency\n          }\n          items {\n            quantity\n            unitPrice {\n              amount\n              currency\n            }\n            product {\n              id\n              name\n            }\n          }\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation PlaceOrder($input: PlaceOrderInput!) {\n  placeOrder(input: $input) {\n    order {\n      id\n      status\n      rejectionReason\n      total {\n        amount\n        currency\n      }\n      items {\n        quantity\n        product {\n          id\n          name\n        }\n      }\n    }\n    userErrors {\n      field\n      message\n      code\n    }\n  }\n}"): (typeof documents)["mutation PlaceOrder($input: PlaceOrderInput!) {\n  placeOrder(input: $input) {\n    order {\n      id\n      status\n      rejectionReason\n      total {\n        amount\n        currency\n      }\n      items {\n        quantity\n        product {\n          id\n          name\n        }\n      }\n    }\n    userErrors {\n      field\n      message\n      code\n    }\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "fragment ProductCard on Product {\n  id\n  name\n  price {\n    amount\n    currency\n  }\n  stock\n}"): (typeof documents)["fragment ProductCard on Product {\n  id\n  name\n  price {\n    amount\n    currency\n  }\n  stock\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query ProductPage($id: ID!) {\n  product(id: $id) {\n    ...ProductCard\n    sku\n    description\n    category\n  }\n}"): (typeof documents)["query ProductPage($id: ID!) {\n  product(id: $id) {\n    ...ProductCard\n    sku\n    description\n    category\n  }\n}"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;