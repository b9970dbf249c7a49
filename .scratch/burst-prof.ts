import { join } from 'node:path';
import { startProcessGraph } from '@commerce/harness/process-graph';
import { seededDatabase } from '@commerce/harness/postgres';
import { ROOT } from '@commerce/harness/processes';
import { seededUserEmail } from '@commerce/db/seed-data';
const database = await seededDatabase('burst_prof');
const graph = await startProcessGraph(database.url, { env: { LOG_LEVEL: 'warn', RATE_LIMIT_ENABLED: 'false', NODE_OPTIONS: `--import ${join(ROOT, 'scripts', 'cpu-profile.mjs')}`, PROFILE_FILE: '/tmp/prof/svc', PROFILE_MS: '30000' }, gatewayEnv: { SUBGRAPH_TIMEOUT_MS: '30000' } });
const url = graph.gatewayUrl;
const post = async (q: string, v: unknown, t: string) => (await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${t}` }, body: JSON.stringify({ query: q, variables: v }) })).json() as Promise<any>;
const admin = await graph.tokenFor('admin@example.com', 'ADMIN');
const tokens = await Promise.all(Array.from({ length: 200 }, (_, i) => graph.tokenFor(seededUserEmail(i + 1))));
let k = 0;
for (let round = 0; round < 4; round++) {
  const c = await post('mutation($i: CreateProductInput!){createProduct(input:$i){product{id}}}', { i: { sku: `P-${Date.now()}`, name: 'b', category: 't', price: '1.00', stock: 50 } }, admin);
  const pid = c.data.createProduct.product.id;
  const t0 = Date.now();
  const a = await Promise.all(tokens.map((t) => post('mutation($i: PlaceOrderInput!){placeOrder(input:$i){order{id status} userErrors{code}}}', { i: { items: [{ productId: pid, quantity: 1 }], idempotencyKey: `p-${k++}` } }, t)));
  console.log('burst', Date.now() - t0, a.filter((x) => x.errors).length);
  await new Promise((r) => setTimeout(r, 1500));
}
await new Promise((r) => setTimeout(r, 20000));
await graph.stop(); await database.drop();
