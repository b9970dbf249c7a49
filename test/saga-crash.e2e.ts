// The saga survives its processes dying: services as separate processes on Redis Streams, orders
// placed while products (the stock consumer and its relay) and then orders (the outbox relay and
// the outcome consumer) are SIGKILLed and restarted. Every order must end CONFIRMED or REJECTED,
// the confirmed units must equal the stock consumed, and no event may be applied twice.
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { postGraphQL } from './support/graph.js';
import { cloneDatabase } from './support/postgres.js';
import { type ProcessGraph, startProcessGraph } from '@commerce/harness/process-graph';
import { userIdFor } from '@commerce/db/ids';
import { seededUserEmail } from '@commerce/db/seed-data';

const template = inject('templateDatabase');
const PLACE = 'mutation Place($input: PlaceOrderInput!) { placeOrder(input: $input) { order { id status } userErrors { code message } } }';
const STOCK = 50;

describe.skipIf(!template)('the saga across crashes (separate processes)', () => {
  let graph: ProcessGraph;
  let drop: () => Promise<void>;
  let sql: pg.Client;
  let productId: string;

  beforeAll(async () => {
    const clone = await cloneDatabase(template as string);
    drop = clone.drop;
    graph = await startProcessGraph(clone.url, {
      // A killed consumer's unacknowledged events go to its successor after 1 s.
      env: { CACHE_ENABLED: 'false', RATE_LIMIT_ENABLED: 'false', EVENT_CLAIM_IDLE_MS: '1000', OUTBOX_RELAY_INTERVAL_MS: '200', PLACE_ORDER_WAIT_MS: '200' },
    });
    sql = new pg.Client({ connectionString: clone.url });
    await sql.connect();
    const admin = { authorization: `Bearer ${await graph.tokenFor('admin@example.com', 'ADMIN')}` };
    const created = await postGraphQL<any>(graph.gatewayUrl, 'mutation { createProduct(input: { sku: "CRASH-1", name: "Crash test item", category: "tests", price: "3.00", stock: 50 }) { product { id } } }', undefined, admin);
    productId = created.data?.createProduct.product.id;
    expect(productId).toBeTruthy();
  }, 120_000);
  afterAll(async () => {
    await sql?.end();
    await graph?.stop();
    await drop?.();
  });

  it('products and then orders SIGKILLed while 80 orders are placed: every order decided, confirmed units = stock consumed, nothing applied twice', { timeout: 180_000 }, async () => {
    const placed: string[] = [];
    const failures: string[] = [];
    let retried = 0;
    const attempts = new Map<number, number>(); // by buyer
    const answered = new Set<number>();
    /** As a mobile client: a call that failed (orders was down) is retried with the same key. */
    const placeSome = async (from: number, count: number, maxAttempts = 1) => {
      await Promise.all(
        Array.from({ length: count }, async (_, i) => {
          const buyer = from + i;
          const headers = { authorization: `Bearer ${await graph.tokenFor(seededUserEmail(buyer))}` };
          for (let attempt = 1; ; attempt++) {
            attempts.set(buyer, attempt);
            const answer = await postGraphQL<any>(graph.gatewayUrl, PLACE, { input: { items: [{ productId, quantity: 1 }], idempotencyKey: `crash-${buyer}` } }, headers).catch((error: unknown) => ({ errors: [{ message: String(error) }], data: null }));
            const id = answer.data?.placeOrder?.order?.id;
            if (id) {
              answered.add(buyer);
              return void placed.push(id);
            }
            if (attempt >= maxAttempts) return void failures.push(JSON.stringify(answer.errors ?? answer.data));
            retried += 1;
            await sleep(500); // the client's back-off
          }
        }),
      );
    };
    // products dies with events in flight: OrderPlaced unconsumed, or consumed and unanswered.
    // (placeOrder itself needs products up, to check the lines: those calls are placed before.)
    await placeSome(1, 40);
    graph.signal('products', 'SIGKILL');
    await graph.process('products').exited;
    await sleep(500); // on purpose: products stays dead a while, its events waiting
    await graph.start('products');
    await placeSome(41, 20);
    // orders dies with calls in flight: orders committed and not yet published (left to the
    // sweep after the restart), answers lost (the retry with the same key gets the same order),
    // and its consumer of products' answers.
    const inFlight = placeSome(61, 20, 40);
    // The kill comes when some of these orders are committed but their answers not yet received.
    const buyers = new Map(Array.from({ length: 20 }, (_, i) => [userIdFor(seededUserEmail(61 + i)), 61 + i]));
    const unanswered = await vi.waitFor(
      async () => {
        const { rows } = await sql.query<{ user_id: string }>('SELECT o.user_id::text FROM orders.orders o JOIN orders.order_items i ON i.order_id = o.id WHERE i.product_id = $1 AND o.user_id = ANY($2::uuid[])', [productId, [...buyers.keys()]]);
        const committed = rows.map((row) => buyers.get(row.user_id) as number).filter((buyer) => !answered.has(buyer));
        expect(committed.length).toBeGreaterThan(0);
        return committed;
      },
      { timeout: 30_000, interval: 5 },
    );
    graph.signal('orders', 'SIGKILL');
    await graph.process('orders').exited;
    await graph.start('orders');
    await inFlight;
    expect(failures).toEqual([]);
    expect(placed).toHaveLength(80);
    // Calls were retried, and some whose order the killed process had committed got that order
    // back from a retry with the same key (the duplicates it must not create are counted below).
    expect(retried).toBeGreaterThan(0);
    const lostAnswers = unanswered.filter((buyer) => (attempts.get(buyer) ?? 0) > 1);
    expect(lostAnswers.length).toBeGreaterThan(0);

    const pending = async () => (await sql.query(`SELECT count(*)::int AS n FROM orders.orders WHERE id = ANY($1::uuid[]) AND status = 'PENDING'`, [placed])).rows[0].n;
    await expect.poll(pending, { timeout: 60_000, interval: 250 }).toBe(0);
    const statuses = (await sql.query<{ status: string; n: number }>(`SELECT status::text, count(*)::int AS n FROM orders.orders WHERE id = ANY($1::uuid[]) GROUP BY status`, [placed])).rows;
    const count = (status: string) => statuses.find((row) => row.status === status)?.n ?? 0;
    const stock = (await sql.query<{ stock: number }>('SELECT stock FROM products.products WHERE id = $1', [productId])).rows[0]!.stock;
    const reservations = (await sql.query(`SELECT count(*)::int AS n FROM products.reservations WHERE status = 'RESERVED'`)).rows[0].n;
    const unpublished = (await sql.query(`SELECT (SELECT count(*) FROM orders.outbox WHERE published_at IS NULL)::int + (SELECT count(*) FROM products.outbox WHERE published_at IS NULL)::int AS n`)).rows[0].n;
    console.log(`saga crash: 80 orders, products and orders SIGKILLed and restarted mid-run (${retried} calls retried with their key after orders died; ${lostAnswers.length} of ${unanswered.length} orders committed and unanswered at the kill were answered by a retry): ${count('CONFIRMED')} CONFIRMED, ${count('REJECTED')} REJECTED, ${count('PENDING')} PENDING; stock ${STOCK} → ${stock}; ${reservations} reservations; ${unpublished} unpublished outbox rows`);
    expect(count('PENDING')).toBe(0);
    expect(count('CONFIRMED')).toBe(STOCK);
    expect(count('REJECTED')).toBe(30);
    expect(stock).toBe(0);
    expect(reservations).toBe(STOCK);
    expect(unpublished).toBe(0);
    // Applied once each: one reservation per confirmed order, and each order's lines priced once.
    const lines = (await sql.query(`SELECT count(*)::int AS n FROM orders.order_items WHERE product_id = $1`, [productId])).rows[0].n;
    expect(lines).toBe(80);
  });
});
