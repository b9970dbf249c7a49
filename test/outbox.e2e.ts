// The outbox on real PostgreSQL (orders' own table): the writer publishes right after its commit and
// marks the rows; what it could not publish (the bus away) stays unpublished until the relay's
// sweep publishes it; rows younger than SWEEP_AFTER_MS are left to their writer.
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { BusEvent, EventBus, SubscribeOptions, Subscription } from '@commerce/messaging/event-bus';
import { createLogger } from '@commerce/platform/logger';
import { MemoryEventBus } from '@commerce/messaging/memory-event-bus';
import { addToOutbox, type OutboxEvent, PUBLISH_TIMEOUT_MS, type RawSql, type RawTransactions, relayOnce, startRelay, SWEEP_AFTER_MS } from '@commerce/messaging/outbox';
import { cloneDatabase } from './support/postgres.js';

const template = inject('templateDatabase');

/** Statements the relay sends outside transactions, and a way to make the next ones fail. */
interface Probe {
  sent: string[];
  failNext: number;
}

/** The relay's view of a database (what Prisma offers), over one pg pool in the orders schema. */
function rawDatabase(pool: pg.Pool, probe: Probe): RawTransactions & RawSql {
  const over = (run: (text: string, values: unknown[]) => Promise<pg.QueryResult>): RawSql => ({
    $queryRawUnsafe: async <T>(text: string, ...values: unknown[]) => (await run(text, values)).rows as T,
    $executeRawUnsafe: async (text: string, ...values: unknown[]) => (await run(text, values)).rowCount ?? 0,
  });
  return {
    ...over(async (text, values) => {
      probe.sent.push(text);
      if (probe.failNext > 0) {
        probe.failNext -= 1;
        throw new Error('connection lost');
      }
      return pool.query(text, values);
    }),
    $transaction: async <T>(work: (tx: RawSql) => Promise<T>) => {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await work(over((text, values) => client.query(text, values)));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK');
        throw error;
      } finally {
        client.release();
      }
    },
  };
}

/** A bus that refuses every publish while `down`, or never answers while `hung`. */
class FlakyBus implements EventBus {
  down = false;
  hung = false;
  constructor(private readonly bus: MemoryEventBus) {}
  async publish(stream: string, event: BusEvent): Promise<void> {
    if (this.down) throw new Error('bus unreachable');
    if (this.hung) return new Promise<void>(() => {});
    return this.bus.publish(stream, event);
  }
  subscribe(stream: string, options: SubscribeOptions, handler: Parameters<EventBus['subscribe']>[2]): Subscription {
    return this.bus.subscribe(stream, options, handler);
  }
  close(): Promise<void> {
    return this.bus.close();
  }
}

describe.skipIf(!template)('the outbox: publish after commit, and the sweep for what was left', () => {
  let pool: pg.Pool;
  let db: RawTransactions & RawSql;
  let drop: () => Promise<void>;
  const probe: Probe = { sent: [], failNext: 0 };
  beforeAll(async () => {
    const clone = await cloneDatabase(template as string);
    drop = clone.drop;
    pool = new pg.Pool({ connectionString: clone.url, options: '-c search_path=orders', max: 4 });
    // As in database.ts: an idle client the server closes (the DROP … WITH (FORCE) at the end) is
    // replaced, not an unhandled 'error' event.
    pool.on('error', () => {});
    db = rawDatabase(pool, probe);
  });
  afterAll(async () => {
    await pool?.end();
    await drop?.();
  });

  const write = (stream: string, n: number) => db.$transaction((tx) => addToOutbox(tx, { stream, type: 'TestEvent', payload: { n } }));
  const unpublished = async (ids: string[]) =>
    (await db.$queryRawUnsafe<Array<{ id: string }>>('SELECT id::text AS id FROM outbox WHERE id = ANY($1::uuid[]) AND published_at IS NULL', ids)).map((row) => row.id);
  /** The sweep publishes the rows within its threshold and a few seconds. */
  const expectSwept = (ids: string[]) => expect.poll(() => unpublished(ids), { timeout: SWEEP_AFTER_MS + 3000, interval: 100 }).toEqual([]);
  /** The subscriber's deliveries (a memory bus hands them over asynchronously). */
  const expectReceived = (seen: string[], ids: string[]) => expect.poll(() => [...seen].sort()).toEqual([...ids].sort());
  const received = (bus: EventBus, stream: string) => {
    const seen: string[] = [];
    bus.subscribe(stream, { group: 'test', consumer: 'c1', claimIdleMs: 60_000 }, async (event) => void seen.push(event.id));
    return seen;
  };

  it('publish() after the commit delivers the events and marks their rows; under many at once, each is delivered once', async () => {
    const bus = new MemoryEventBus();
    const stream = `publish-${Date.now()}`;
    const seen = received(bus, stream);
    // A sweep that never comes during the test: whatever is delivered, publish() delivered.
    const relay = startRelay({ db, bus, intervalMs: 3_600_000, logger: createLogger('test', 'silent') });
    const events: OutboxEvent[] = [];
    for (let n = 0; n < 5; n++) events.push(await write(stream, n));
    await relay.publish([events[0]!]);
    expect(await unpublished([events[0]!.id])).toEqual([]);
    // Many writers at once: their marks are grouped (fewer UPDATEs than publishes), and every one lands.
    const more: OutboxEvent[] = [];
    for (let n = 0; n < 20; n++) more.push(await write(stream, 100 + n));
    probe.sent = [];
    await Promise.all([...events.slice(1), ...more].map((event) => relay.publish([event])));
    const marks = probe.sent.filter((text) => text.startsWith('UPDATE outbox SET published_at'));
    expect(marks.length).toBeGreaterThan(0);
    expect(marks.length).toBeLessThan(24);
    events.push(...more);
    expect(await unpublished(events.map((event) => event.id))).toEqual([]);
    await expectReceived(seen, events.map((event) => event.id));
    await relay.stop();
  });

  it('the bus away at commit: the rows stay unpublished, and the sweep publishes them once they are older than SWEEP_AFTER_MS', async () => {
    const inner = new MemoryEventBus();
    const bus = new FlakyBus(inner);
    const stream = `sweep-${Date.now()}`;
    const seen = received(inner, stream);
    const relay = startRelay({ db, bus, intervalMs: 200, logger: createLogger('test', 'silent') });
    bus.down = true;
    const events = [await write(stream, 1), await write(stream, 2)];
    await relay.publish(events); // never throws: it leaves them to the sweep
    expect((await unpublished(events.map((e) => e.id))).sort()).toEqual(events.map((e) => e.id).sort());
    bus.down = false;
    await expectSwept(events.map((e) => e.id));
    await expectReceived(seen, events.map((e) => e.id));
    await relay.stop();
  });

  it('a sweep leaves rows younger than its threshold to their writer, then takes them', async () => {
    const bus = new MemoryEventBus();
    const stream = `young-${Date.now()}`;
    const seen = received(bus, stream);
    const event = await write(stream, 1);
    // A threshold no loaded machine can outrun; then the relay's own, once the row is older.
    await relayOnce(db, bus, 100, 60_000);
    expect(await unpublished([event.id])).toEqual([event.id]);
    await sleep(SWEEP_AFTER_MS + 100); // on purpose: the row must grow older than the threshold
    await relayOnce(db, bus, 100, SWEEP_AFTER_MS);
    expect(await unpublished([event.id])).toEqual([]);
    await expectReceived(seen, [event.id]);
  });

  it('the mark fails after the bus took the events: the sweep publishes them again (a duplicate the consumers drop), and marks them', async () => {
    const bus = new MemoryEventBus();
    const stream = `mark-${Date.now()}`;
    const seen = received(bus, stream);
    const relay = startRelay({ db, bus, intervalMs: 200, logger: createLogger('test', 'silent') });
    const event = await write(stream, 1);
    probe.failNext = 1;
    await relay.publish([event]);
    expect(await unpublished([event.id])).toEqual([event.id]);
    await expectSwept([event.id]);
    await expectReceived(seen, [event.id, event.id]); // at least once: delivered twice, with one id
    await relay.stop();
  });

  it('a bus that never answers: publish() gives up after PUBLISH_TIMEOUT_MS, stop() returns, the row waits for the sweep', async () => {
    const bus = new FlakyBus(new MemoryEventBus());
    const relay = startRelay({ db, bus, intervalMs: 3_600_000, logger: createLogger('test', 'silent') });
    const event = await write(`hung-${Date.now()}`, 1);
    bus.hung = true;
    const started = Date.now();
    const publishing = relay.publish([event]);
    await relay.stop();
    await publishing;
    expect(Date.now() - started).toBeLessThan(PUBLISH_TIMEOUT_MS + 1500);
    expect(await unpublished([event.id])).toEqual([event.id]);
  });
});
