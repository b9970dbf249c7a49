// The bus that carries the order saga's events between services (orders' outbox publishes
// OrderPlaced, products answers StockReserved/StockRejected, ...). Two implementations with the
// same semantics: MemoryEventBus for the embedded single-process graph, RedisEventBus (Redis
// Streams with consumer groups) for replicas. Delivery is at-least-once: a handler may see an event
// again (after a failure, a reclaim from a stuck consumer, a lost ack), so consumers deduplicate on
// `id`. Nothing here retries forever on the caller's behalf except redelivery itself.

export interface BusEvent {
  /** Unique per logical event (the outbox row id): consumers deduplicate on it. */
  id: string;
  type: string;
  payload: Record<string, unknown>;
}

export interface Delivery extends BusEvent {
  /** How many times this message has been handed to a consumer (1 on first delivery). */
  attempt: number;
}

export interface SubscribeOptions {
  /** Consumer group: each event goes to one consumer of each group. */
  group: string;
  /** This consumer's name inside the group (e.g. hostname-pid). */
  consumer: string;
  /** A message handed out but not acknowledged for this long is given to another consumer (dead or stuck consumer). Default 30_000. */
  claimIdleMs?: number;
  /** Max messages per read. Default 50. */
  batchSize?: number;
}

export interface Subscription {
  /** Stops reading; resolves when the handler calls in flight have finished. Un-acked messages stay pending (reclaimable). */
  stop(): Promise<void>;
  /**
   * True while the consumer has nothing in hand and waits for new events: Redis, its blocking
   * read is in flight; memory, it is parked until a publish or a reclaim falls due.
   */
  readonly waiting: boolean;
}

/**
 * A bus's running subscriptions, for both buses: refuses work once closed, forgets each
 * subscription when its loop ends, and close() stops those still running.
 */
export class SubscriptionSet {
  private readonly running = new Set<Subscription>();
  private closed = false;

  /** Throws once close() was called. */
  checkOpen(): void {
    if (this.closed) throw new Error('event bus is closed');
  }

  add<S extends Subscription & { done: Promise<void> }>(subscription: S): S {
    this.running.add(subscription);
    void subscription.done.then(() => this.running.delete(subscription));
    return subscription;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.running].map((subscription) => subscription.stop()));
  }
}

export interface EventBus {
  /** Appends to the stream; resolves once the bus has it durably (Redis acknowledged the XADD). */
  publish(stream: string, event: BusEvent): Promise<void>;
  /** Calls handler for each event; acknowledges after the handler resolves; a handler that throws leaves the message pending, so it is delivered again after claimIdleMs. Handler calls for one subscription run one at a time, in stream order. */
  subscribe(stream: string, options: SubscribeOptions, handler: (event: Delivery) => Promise<void>): Subscription;
  close(): Promise<void>;
}

export type EventHandler = (event: Delivery) => Promise<void>;

export const DEFAULT_CLAIM_IDLE_MS = 30_000;
export const DEFAULT_BATCH_SIZE = 50;

// Streams become Redis keys, so they stay plain; group and consumer names (hostname-pid-…) only
// need to be non-empty and printable.
const STREAM = /^[\w.:-]{1,128}$/;
const MEMBER = /^\S{1,256}$/;

function checkName(what: 'stream' | 'group' | 'consumer', value: string): string {
  const ok = (what === 'stream' ? STREAM : MEMBER).test(value);
  if (!ok) throw new Error(`event bus ${what} name is not allowed: ${JSON.stringify(value)}`);
  return value;
}

/** Options with defaults filled in; rejects values that would make a consumer spin or never reclaim. */
export function subscribeOptions(stream: string, options: SubscribeOptions): Required<SubscribeOptions> {
  checkName('stream', stream);
  const claimIdleMs = options.claimIdleMs ?? DEFAULT_CLAIM_IDLE_MS;
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isInteger(claimIdleMs) || claimIdleMs < 10) throw new Error(`claimIdleMs must be an integer >= 10, got ${claimIdleMs}`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batchSize must be a positive integer, got ${batchSize}`);
  return { group: checkName('group', options.group), consumer: checkName('consumer', options.consumer), claimIdleMs, batchSize };
}

/**
 * The payload as stored. Both buses keep JSON, so the embedded graph fails on a payload Redis
 * could not carry (BigInt, cycles) and handlers get the same shapes (Dates as strings) in both.
 */
export function encodeEvent(stream: string, event: BusEvent): string {
  checkName('stream', stream);
  if (typeof event.id !== 'string' || event.id === '') throw new Error('event id must be a non-empty string');
  if (typeof event.type !== 'string' || event.type === '') throw new Error('event type must be a non-empty string');
  if (event.payload === null || typeof event.payload !== 'object' || Array.isArray(event.payload)) throw new Error('event payload must be an object');
  return JSON.stringify(event.payload);
}

export function decodePayload(json: string): Record<string, unknown> {
  const payload: unknown = JSON.parse(json);
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) throw new Error('event payload is not an object');
  return payload as Record<string, unknown>;
}
