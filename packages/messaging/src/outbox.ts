// The transactional outbox and idempotent consumers, shared by orders and products (both have the
// same `outbox` and `processed_events` tables). An event is written in the same transaction as the
// change it announces; the writer publishes it right after the commit and marks it; a sweep
// publishes whatever was left unpublished (a crash between commit and publish, the bus away); a
// consumer records each event id in the same transaction as its effect, so a redelivered event
// changes nothing.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { hostname } from 'node:os';
import type { BusEvent, Delivery, EventBus, Subscription } from './event-bus.js';
import type { Logger } from '@commerce/platform/logger';
import { runInBackground } from './background.js';
import { within } from '@commerce/platform/within';

/** What a Prisma client or interactive transaction offers for raw SQL (both generated clients fit). */
export interface RawSql {
  $queryRawUnsafe<T = unknown>(query: string, ...values: unknown[]): Promise<T>;
  $executeRawUnsafe(query: string, ...values: unknown[]): Promise<number>;
}

export interface RawTransactions {
  $transaction<T>(run: (tx: RawSql) => Promise<T>): Promise<T>;
}

export interface OutgoingEvent {
  stream: string;
  type: string;
  payload: Record<string, unknown>;
}

/** An event as written to the outbox: its id is what consumers deduplicate on. */
export interface OutboxEvent extends OutgoingEvent {
  id: string;
}

/**
 * Writes the event in the caller's transaction and returns it. Once that transaction has
 * committed, the writer hands it to its relay's publish() (at once, no polling); if that never
 * happens (a crash, the bus away), the relay's sweep publishes it from the table.
 */
export async function addToOutbox(tx: RawSql, event: OutgoingEvent): Promise<OutboxEvent> {
  const id = randomUUID();
  // clock_timestamp(), not the transaction's start: a transaction that waited on a hot row does
  // not make its event look old to the sweep the moment it commits.
  await tx.$executeRawUnsafe('INSERT INTO outbox (id, stream, type, payload, created_at) VALUES ($1::uuid, $2, $3, $4::jsonb, clock_timestamp())', id, event.stream, event.type, JSON.stringify(event.payload));
  return { id, ...event };
}

/** Records the event as applied, in the caller's transaction; false when it already was (a redelivery). */
export async function markProcessed(tx: RawSql, eventId: string): Promise<boolean> {
  return (await tx.$executeRawUnsafe('INSERT INTO processed_events (event_id) VALUES ($1) ON CONFLICT DO NOTHING', eventId)) === 1;
}

/**
 * A service's consumers of one stream: `count` of them in this process, in one group, each named
 * after its host and process (so a dead one's messages are reclaimed, not confused with a live
 * one's). Events are independent (row locks order what must be ordered), so several consumers keep
 * one slow transaction from holding up the rest. Handlers run as background work (SQL counted so).
 */
export function consume(bus: EventBus, stream: string, options: { group: string; count: number; claimIdleMs: number }, handler: (event: Delivery) => Promise<void>): Subscription {
  const subscriptions = Array.from({ length: options.count }, () =>
    bus.subscribe(stream, { group: options.group, consumer: `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`, claimIdleMs: options.claimIdleMs }, (event) => runInBackground(() => handler(event))),
  );
  return {
    stop: async () => void (await Promise.all(subscriptions.map((subscription) => subscription.stop()))),
    // All of them: none has an event in hand.
    get waiting() {
      return subscriptions.every((subscription) => subscription.waiting);
    },
  };
}

interface OutboxRow {
  id: string;
  stream: string;
  type: string;
  payload: Record<string, unknown> | string;
}

/**
 * Publishes up to `limit` unpublished rows, oldest first, and marks them. The rows stay locked
 * (SKIP LOCKED) until the transaction ends, so relays on several replicas never publish the same
 * row at once; a crash after publishing and before the commit publishes it again (at-least-once).
 */
export async function relayOnce(db: RawTransactions & RawSql, bus: EventBus, limit = 100, olderThanMs = 0): Promise<number> {
  // Nearly always there is nothing to sweep: one read says so, instead of a transaction's three statements.
  const [due] = await db.$queryRawUnsafe<Array<{ due: boolean }>>(
    `SELECT EXISTS (SELECT 1 FROM outbox WHERE published_at IS NULL AND created_at <= now() - $1 * interval '1 millisecond') AS due`,
    Math.max(0, Math.floor(olderThanMs)),
  );
  if (!due?.due) return 0;
  return db.$transaction(async (tx) => {
    const rows = await tx.$queryRawUnsafe<OutboxRow[]>(
      `SELECT id::text AS id, stream, type, payload FROM outbox WHERE published_at IS NULL AND created_at <= now() - $1 * interval '1 millisecond' ORDER BY created_at, id LIMIT ${Math.floor(limit)} FOR UPDATE SKIP LOCKED`,
      Math.max(0, Math.floor(olderThanMs)),
    );
    for (const row of rows) {
      const event: BusEvent = { id: row.id, type: row.type, payload: typeof row.payload === 'string' ? (JSON.parse(row.payload) as Record<string, unknown>) : row.payload };
      await bus.publish(row.stream, event);
    }
    if (rows.length > 0) await tx.$executeRawUnsafe(`UPDATE outbox SET published_at = now() WHERE id = ANY($1::uuid[])`, rows.map((row) => row.id));
    return rows.length;
  });
}

export interface Relay {
  /**
   * Publishes events whose transaction has committed, now, and marks them published (one
   * statement). If that fails or the bus takes longer than PUBLISH_TIMEOUT_MS, they stay
   * unpublished in the table for the sweep. Never throws; callers need not wait for it.
   */
  publish(events: readonly OutboxEvent[]): Promise<void>;
  /** Stops, after the sweep and the publishes in flight. */
  stop(): Promise<void>;
}

/**
 * The sweep leaves rows this young to the writer's own publish(), which normally follows the
 * commit within milliseconds; older unpublished rows are leftovers (a crash, the bus away).
 */
export const SWEEP_AFTER_MS = 1000;

/**
 * How long a mark waits for others to share its statement: far below SWEEP_AFTER_MS, so the sweep
 * never takes a row whose writer is about to mark it.
 */
export const MARK_GATHER_MS = 25;

/** A bus that has not taken an event by then is treated as away: the sweep publishes it later. */
export const PUBLISH_TIMEOUT_MS = 2000;

/**
 * publish() for what this process just wrote; every `intervalMs` a sweep of older unpublished
 * rows (relayOnce), again at once while a pass found a full batch.
 */
export function startRelay(options: { db: RawTransactions & RawSql; bus: EventBus; intervalMs: number; logger: Logger; limit?: number }): Relay {
  let stopped = false;
  let running: Promise<void> | null = null;
  let again = false;
  let failing = false;
  const pass = async (): Promise<void> => {
    do {
      again = false;
      try {
        const published = await runInBackground(() => relayOnce(options.db, options.bus, options.limit, SWEEP_AFTER_MS));
        if (failing) options.logger.info('outbox relay: publishing again');
        failing = false;
        if (published === (options.limit ?? 100)) again = true;
      } catch (error) {
        // The database or the bus is away: rows stay unpublished and the next tick tries again.
        if (!failing) options.logger.warn({ err: String(error) }, 'outbox relay: pass failed; retrying');
        failing = true;
        return;
      }
    } while (again && !stopped);
  };
  const run = () => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = pass().finally(() => {
      running = null;
    });
  };
  const timer = setInterval(run, options.intervalMs);
  timer.unref();
  run();
  // Marks are grouped: the first waits MARK_GATHER_MS for others, and while one UPDATE is in
  // flight the ids published meanwhile wait for the next, so under load one statement marks many
  // events (as a sweep pass would). A statement as quick as this one is otherwise done before the
  // next event is published: a burst cost a mark per event.
  let marks: Array<{ ids: string[]; done: (error?: unknown) => void }> = [];
  let marking = false;
  const flushMarks = async () => {
    marking = true;
    await sleep(MARK_GATHER_MS);
    while (marks.length > 0) {
      const batch = marks;
      marks = [];
      const ids = batch.flatMap((mark) => mark.ids);
      // async: Prisma's query is lazy and starts at `await`, which must be inside the background scope.
      const error = await runInBackground(async () => {
        await options.db.$executeRawUnsafe('UPDATE outbox SET published_at = now() WHERE id = ANY($1::uuid[]) AND published_at IS NULL', ids);
      }).then(
        () => undefined,
        (failure: unknown) => failure ?? new Error('mark failed'),
      );
      for (const mark of batch) mark.done(error);
    }
    marking = false;
  };
  const markPublished = (ids: string[]) =>
    new Promise<void>((resolve, reject) => {
      marks.push({ ids, done: (error) => (error === undefined ? resolve() : reject(error)) });
      if (!marking) void flushMarks();
    });
  const publishing = new Set<Promise<void>>();
  let publishFailing = false;
  const publish = async (events: readonly OutboxEvent[]): Promise<void> => {
    if (events.length === 0) return;
    try {
      await within(Promise.all(events.map(({ id, stream, type, payload }) => options.bus.publish(stream, { id, type, payload }))), PUBLISH_TIMEOUT_MS, 'the bus');
      await markPublished(events.map((event) => event.id));
      if (publishFailing) options.logger.info('outbox: publishing after commit again');
      publishFailing = false;
    } catch (error) {
      // Unmarked rows are published by the sweep: at least once, never lost. Logged once per outage.
      if (!publishFailing) options.logger.warn({ err: String(error), events: events.length }, 'outbox: publish after commit failed; the sweep publishes what is left');
      publishFailing = true;
    }
  };
  return {
    publish: (events) => {
      const done = publish(events).finally(() => publishing.delete(done));
      publishing.add(done);
      return done;
    },
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await Promise.all([running, ...publishing]);
    },
  };
}
