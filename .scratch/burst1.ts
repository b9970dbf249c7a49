// scratch: 200 orders at once against `npm start` with REDIS_URL from a given checkout
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seededUserEmail } from '@commerce/db/seed-data';
import { userIdFor } from '@commerce/db/ids';
import { loadOrCreateDevKeys } from '@commerce/platform/dev-keys';
import { signUserToken } from '@commerce/gateway/user-tokens';
import { run, freePort } from '@commerce/harness/processes';
const root = process.argv[2];
const dir = mkdtempSync(join(tmpdir(), 'b1-'));
const port = await freePort();
const g = run('start', { DATA_DIR: dir, REDIS_URL: 'redis://127.0.0.1:6379', CACHE_PREFIX: `b1-${Date.now()}`, PORT: String(port), LOG_LEVEL: 'warn', ...(process.env.EXTRA ? JSON.parse(process.env.EXTRA) : {}) }, { cwd: root });
for (;;) { if (g.output().includes('gateway ready at')) break; await new Promise((r) => setTimeout(r, 200)); }
const url = `http://127.0.0.1:${port}/graphql`;
const { jwtSecret } = loadOrCreateDevKeys(dir);
const tok = async (e: string, role: 'USER' | 'ADMIN' = 'USER') => ({ 'content-type': 'application/json', authorization: `Bearer ${await signUserToken(jwtSecret, { userId: userIdFor(e), role })}` });
const post = async (q: string, v: unknown, h: Record<string, string>) => (await fetch(url, { method: 'POST', headers: h, body: JSON.stringify({ query: q, variables: v }) })).json() as Promise<any>;
const admin = await tok('admin@example.com', 'ADMIN');
const c = await post('mutation($i: CreateProductInput!){createProduct(input:$i){product{id}}}', { i: { sku: `B-${Date.now()}`, name: 'b', category: 't', price: '1.00', stock: 50 } }, admin);
const pid = c.data.createProduct.product.id;
const buyers = await Promise.all(Array.from({ length: 40 }, (_, i) => tok(seededUserEmail(200 + i))));
const t0 = Date.now();
const answers = await Promise.all(buyers.flatMap((h, i) => [0, 1, 2, 3, 4].map((n) => post('mutation($i: PlaceOrderInput!){placeOrder(input:$i){order{id status} userErrors{code}}}', { i: { items: [{ productId: pid, quantity: 1 }], idempotencyKey: `k-${i}-${n}` } }, h))));
const kinds = new Map<string, number>();
for (const a of answers) { const k = a.errors ? a.errors[0].extensions?.code + ':' + a.errors[0].extensions?.reason : a.data.placeOrder.order ? a.data.placeOrder.order.status : a.data.placeOrder.userErrors[0].code; kinds.set(k, (kinds.get(k) ?? 0) + 1); }
console.log(root ?? 'main', Date.now() - t0, 'ms', JSON.stringify([...kinds]));
g.kill('SIGKILL'); await g.exited;
