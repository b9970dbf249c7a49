// Field limits are one limit however many replicas serve the field: two replicas of products and
// two of orders on one Redis, 200 calls at once from one user split between them, and exactly the
// rule's max admitted, every decision made by the shared store (no replica deciding alone).
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { userIdFor } from '@commerce/db/ids';
import { seededUserEmail } from '@commerce/db/seed-data';
import { IDENTITY_HEADER, identityPrivateKey, signIdentity } from '@commerce/platform/identity';
import { metricValue, postGraphQL, startGraph, type GraphQLResponse, type TestGraph } from './support/graph.js';
import { newProduct } from './support/orders.js';

const template = inject('templateDatabase');
const redisUrl = inject('redisUrl');

const SEARCH = 'query Search($text: String!) { products(first: 1, filter: { search: $text }) { totalCount } }';
const PLACE = 'mutation Place($input: PlaceOrderInput!) { placeOrder(input: $input) { order { id } userErrors { code message } } }';
const CALLS = 200;

describe.skipIf(!template || !redisUrl)('field limits across replicas', () => {
  let graph: TestGraph;
  let products: string[];
  let orders: string[];

  beforeAll(async () => {
    // 200 calls at once on 2 shared cores: Redis is given time to answer (the 100 ms default would
    // let a loaded machine fail open, which is by design but not what this file measures).
    graph = await startGraph({ kind: 'postgres', template: template as string }, { redisUrl: redisUrl as string, env: { RATE_LIMIT_ENABLED: 'true', CACHE_TIMEOUT_MS: '3000' } });
    const productsB = await graph.startReplica('products');
    const ordersB = await graph.startReplica('orders', { PRODUCTS_URL: productsB.url });
    products = [graph.subgraphUrls.products, productsB.url];
    orders = [graph.subgraphUrls.orders, ordersB.url];
  }, 180_000);
  afterAll(() => graph?.stop());

  /** Headers a subgraph accepts from the gateway: the user's identity, signed with the graph's key. */
  const forwardedAs = async (email: string) => ({
    [IDENTITY_HEADER]: await signIdentity(identityPrivateKey(graph.keys.identityPrivateKey), { kind: 'user', userId: userIdFor(email), role: 'USER' }),
  });
  const limited = (answers: GraphQLResponse[]) => answers.filter((a) => a.errors?.length === 1 && a.errors[0]?.extensions?.code === 'RATE_LIMITED');
  const fallbacks = async () => Promise.all([...products, ...orders].map((url) => metricValue(url, 'rate_limit_fallbacks_total')));
  const fieldRefusals = async (urls: string[]) => (await Promise.all(urls.map((url) => metricValue(url, 'rate_limited_total', { scope: 'field' })))).reduce((a, b) => a + b, 0);

  it(`${CALLS} concurrent searches from one user on two products replicas: exactly 60 admitted`, { timeout: 120_000 }, async () => {
    const who = await forwardedAs(seededUserEmail(1));
    // A different text each time, so nothing but the limit tells the calls apart.
    const answers = await Promise.all(Array.from({ length: CALLS }, (_, i) => postGraphQL<Record<string, any>>(products[i % 2]!, SEARCH, { text: `lamp ${i}` }, who)));
    const admitted = answers.filter((a) => a.status === 200 && !a.errors && typeof a.data?.products?.totalCount === 'number');
    const refused = limited(answers);
    console.log(`${CALLS} concurrent searches on 2 replicas: ${admitted.length} admitted, ${refused.length} RATE_LIMITED`);
    expect({ admitted: admitted.length, limited: refused.length }).toEqual({ admitted: 60, limited: CALLS - 60 });
    expect(refused[0]?.errors?.[0]).toMatchObject({ path: ['products'], extensions: { code: 'RATE_LIMITED', field: 'Query.products', max: 60, window: '1m' } });
    expect(await fieldRefusals(products)).toBe(CALLS - 60);
    expect(await fallbacks()).toEqual([0, 0, 0, 0]);
  });

  it(`${CALLS} concurrent new orders from one user on two orders replicas: exactly 30 admitted`, { timeout: 120_000 }, async () => {
    const admin = await graph.as('admin@example.com');
    const productId = await newProduct(graph, admin, 10_000, '1.00', 'Field limit test item');
    const who = await forwardedAs(seededUserEmail(2));
    const answers = await Promise.all(
      Array.from({ length: CALLS }, (_, i) => postGraphQL<Record<string, any>>(orders[i % 2]!, PLACE, { input: { items: [{ productId, quantity: 1 }], idempotencyKey: `limit-${i}-${productId}` } }, who)),
    );
    const admitted = answers.filter((a) => !a.errors && a.data?.placeOrder?.order?.id && a.data.placeOrder.userErrors.length === 0);
    const refused = limited(answers);
    console.log(`${CALLS} concurrent placeOrder on 2 replicas: ${admitted.length} admitted, ${refused.length} RATE_LIMITED`);
    expect({ admitted: admitted.length, limited: refused.length }).toEqual({ admitted: 30, limited: CALLS - 30 });
    expect(refused[0]?.errors?.[0]).toMatchObject({ path: ['placeOrder'], extensions: { code: 'RATE_LIMITED', field: 'Mutation.placeOrder', max: 30, window: '1m' } });
    expect(new Set(admitted.map((a) => a.data?.placeOrder.order.id)).size).toBe(30);
    expect(await fieldRefusals(orders)).toBe(CALLS - 30);
    expect(await fallbacks()).toEqual([0, 0, 0, 0]);
  });
});
