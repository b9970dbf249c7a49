// The transactional outbox and idempotent consumers, shared by orders and products (both have the
// same `outbox` and `processed_events` tables). An event is written in the same transaction as the
// change it announces; a relay publishes unpublished rows and marks them; a consumer records each
// event id in the same transaction as its effect, so a redelivered event changes nothing.
import { randomUUID } from 'node:crypto';
import type { BusEvent, EventBus } from './event-bus.js';
import type { Logger } from './logger.js';
import { runInBackground } from './background.js';

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

/** Writes the event in the caller's transaction; returns its id (what consumers deduplicate on). */
export async function addToOutbox(tx: RawSql, event: OutgoingEvent): Promise<string> {
  const id = randomUUID();
  await tx.$executeRawUnsafe('INSERT INTO outbox (id, stream, type, payload) VALUES ($1::uuid, $2, $3, $4::jsonb)', id, event.stream, event.type, JSON.stringify(event.payload));
  return id;
}

/** Records the event as applied, in the caller's transaction; false when it already was (a redelivery). */
export async function markProcessed(tx: RawSql, eventId: string): Promise<boolean> {
  return (await tx.$executeRawUnsafe('INSERT INTO processed_events (event_id) VALUES ($1) ON CONFLICT DO NOTHING', eventId)) === 1;
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
export async function relayOnce(db: RawTransactions, bus: EventBus, limit = 100): Promise<number> {
  return db.$transaction(async (tx) => {
    const rows = await tx.$queryRawUnsafe<OutboxRow[]>(`SELECT id::text AS id, stream, type, payload FROM outbox WHERE published_at IS NULL ORDER BY created_at, id LIMIT ${Math.floor(limit)} FOR UPDATE SKIP LOCKED`);
    for (const row of rows) {
      const event: BusEvent = { id: row.id, type: row.type, payload: typeof row.payload === 'string' ? (JSON.parse(row.payload) as Record<string, unknown>) : row.payload };
      await bus.publish(row.stream, event);
    }
    if (rows.length > 0) await tx.$executeRawUnsafe(`UPDATE outbox SET published_at = now() WHERE id = ANY($1::uuid[])`, rows.map((row) => row.id));
    return rows.length;
  });
}

export interface Relay {
  /** Publishes soon (after a write committed), without waiting for the next tick. */
  kick(): void;
  /** Stops, after the pass in flight. */
  stop(): Promise<void>;
}

/** Runs relayOnce every `intervalMs`, at once when kicked, and again while a pass found a full batch. */
export function startRelay(options: { db: RawTransactions; bus: EventBus; intervalMs: number; logger: Logger; limit?: number }): Relay {
  let stopped = false;
  let running: Promise<void> | null = null;
  let again = false;
  let failing = false;
  const pass = async (): Promise<void> => {
    do {
      again = false;
      try {
        const published = await runInBackground(() => relayOnce(options.db, options.bus, options.limit));
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
  return {
    kick: run,
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
