// The storefront bench:gateway runs its gateways against: four subgraphs in the shape public
// gateway benchmarks use (accounts, inventory, products, reviews), with `@key` entities spread over
// them, `@requires`/`@external` (inventory's shipping estimate needs the product's price and weight
// from products) and `@provides` (a review's author comes with a username). The data is a pure
// function of the ids (a million users, ten thousand products), so any id answers, always the same,
// without storage: the subgraphs cost next to nothing, and the gateway is what is measured.
import { parse, type DocumentNode } from 'graphql';

export const USERS = 1_000_000;
export const PRODUCTS = 10_000;

const FEDERATION = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@shareable", "@external", "@requires", "@provides"])';

/** A small deterministic mix of the id, so neighbouring ids do not look alike. */
const mix = (n: number, salt: number): number => Math.abs(Math.imul(n ^ salt, 2_654_435_761) ^ (n >>> 7)) >>> 0;

/** Review texts of a few lengths, as review bodies are in a shop (written for this benchmark). */
const BODIES = [
  'Arrived a day early and works exactly as described. The packaging was more than it needed, but nothing was damaged.',
  'I bought two of these for the workshop. After three months of daily use both still look new; the finish does not scratch easily and the hinges stay tight. Would order again.',
  'Smaller than the photos suggest. Fine for the price.',
  'The colour is a little warmer than on screen, which I ended up liking. Assembly took ten minutes with the included tools; the instructions are pictures only but clear enough. One screw was missing, support sent a bag of spares the same week without asking for a receipt.',
  'Does the job. Battery lasts about a week with normal use, charging takes two hours from empty.',
  'Returned it: the strap broke on the second day. The replacement has held up so far, so maybe the first one was a bad batch. Customer service was quick and friendly about it.',
  'Good value. My only complaint is the smell when new, which went away after airing it for a few days on the balcony.',
  'Heavier than expected, which makes it feel solid on the desk. The cable is long enough to reach the socket behind the shelf. Buttons click a bit loudly at night, but that is a minor thing compared to how well the rest is made and how little it cost during the sale.',
];

export interface UserRow {
  id: string;
  name: string;
  username: string;
  birthday: number;
}

export interface ProductRow {
  upc: string;
  name: string;
  price: number;
  weight: number;
}

const userById = (id: number): UserRow | null =>
  Number.isInteger(id) && id >= 1 && id <= USERS ? { id: String(id), name: `User ${id}`, username: `user${id}`, birthday: mix(id, 11) % 36_500 } : null;

const productByUpc = (upc: number): ProductRow | null =>
  Number.isInteger(upc) && upc >= 1 && upc <= PRODUCTS ? { upc: String(upc), name: `Product ${upc}`, price: 100 + (mix(upc, 3) % 900), weight: 1 + (mix(upc, 5) % 50) } : null;

/** A review's id names its author and its product, so any review can be resolved from its id alone. */
const review = (authorId: number, upc: number) => ({ id: `${authorId}.${upc}`, authorId, upc });
const reviewOf = (id: string) => {
  const [author, upc] = id.split('.').map(Number) as [number, number];
  return userById(author) && productByUpc(upc) ? review(author, upc) : null;
};
type ReviewRow = NonNullable<ReturnType<typeof reviewOf>>;
const reviewsByUser = (id: number): ReviewRow[] => [0, 1].map((k) => review(id, (mix(id, 17 + k) % PRODUCTS) + 1));
const reviewsOfProduct = (upc: number): ReviewRow[] => [0, 1, 2].map((k) => review((mix(upc, 29 + k) % USERS) + 1, upc));
const page = (first: unknown, max: number) => Math.max(0, Math.min(max, typeof first === 'number' ? first : 5));

export interface SubgraphDefinition {
  name: 'accounts' | 'inventory' | 'products' | 'reviews';
  typeDefs: DocumentNode;
  resolvers: Record<string, Record<string, unknown>>;
}

export const SUBGRAPHS: SubgraphDefinition[] = [
  {
    name: 'accounts',
    typeDefs: parse(`${FEDERATION}
      type Query {
        me: User
        user(id: ID!): User
        users(first: Int = 5): [User]
      }
      type User @key(fields: "id") {
        id: ID!
        name: String
        username: String @shareable
        birthday: Int
      }`),
    resolvers: {
      Query: {
        me: () => userById(1),
        user: (_: unknown, { id }: { id: string }) => userById(Number(id)),
        users: (_: unknown, { first }: { first?: number }) => Array.from({ length: page(first, 50) }, (_, i) => userById(i + 1)),
      },
      User: { __resolveReference: (ref: { id: string }) => userById(Number(ref.id)) },
    },
  },
  {
    name: 'products',
    typeDefs: parse(`${FEDERATION}
      type Query {
        topProducts(first: Int = 5): [Product]
        product(upc: String!): Product
      }
      type Product @key(fields: "upc") {
        upc: String!
        name: String
        price: Int
        weight: Int
      }`),
    resolvers: {
      Query: {
        topProducts: (_: unknown, { first }: { first?: number }) => Array.from({ length: page(first, 50) }, (_, i) => productByUpc(i + 1)),
        product: (_: unknown, { upc }: { upc: string }) => productByUpc(Number(upc)),
      },
      Product: { __resolveReference: (ref: { upc: string }) => productByUpc(Number(ref.upc)) },
    },
  },
  {
    name: 'inventory',
    typeDefs: parse(`${FEDERATION}
      type Product @key(fields: "upc") {
        upc: String!
        weight: Int @external
        price: Int @external
        inStock: Boolean
        shippingEstimate: Int @requires(fields: "price weight")
      }`),
    resolvers: {
      Product: {
        __resolveReference: (ref: { upc: string; price?: number; weight?: number }) => ref,
        inStock: (product: { upc: string }) => Number(product.upc) % 3 !== 0,
        // Free above 500; otherwise by weight (needs both from products: @requires).
        shippingEstimate: (product: { price?: number; weight?: number }) => (product.price === undefined || product.weight === undefined ? null : product.price > 500 ? 0 : Math.ceil(product.weight / 2)),
      },
    },
  },
  {
    name: 'reviews',
    typeDefs: parse(`${FEDERATION}
      type Review @key(fields: "id") {
        id: ID!
        body: String
        author: User @provides(fields: "username")
        product: Product
      }
      type User @key(fields: "id") {
        id: ID!
        username: String @external
        reviews: [Review]
      }
      type Product @key(fields: "upc") {
        upc: String!
        reviews: [Review]
      }`),
    resolvers: {
      Review: {
        __resolveReference: (ref: { id: string }) => reviewOf(ref.id),
        body: (row: ReviewRow) => BODIES[mix(row.authorId, row.upc) % BODIES.length],
        author: (row: ReviewRow) => ({ id: String(row.authorId), username: `user${row.authorId}` }),
        product: (row: ReviewRow) => ({ upc: String(row.upc) }),
      },
      User: {
        __resolveReference: (ref: { id: string }) => (userById(Number(ref.id)) ? { id: ref.id } : null),
        reviews: (user: { id: string }) => reviewsByUser(Number(user.id)),
      },
      Product: {
        __resolveReference: (ref: { upc: string }) => (productByUpc(Number(ref.upc)) ? { upc: ref.upc } : null),
        reviews: (product: { upc: string }) => reviewsOfProduct(Number(product.upc)),
      },
    },
  },
];
