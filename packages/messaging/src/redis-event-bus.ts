// The bus over Redis Streams, shared by every replica: one stream per topic, one consumer group per
// subscribing service. Each subscription reads on a connection of its own (XREADGROUP BLOCK would
// stall every command queued behind it on the shared client). Its loop first reclaims messages
// idle longer than claimIdleMs (XAUTOCLAIM: a consumer that died or hangs), then reads new ones,
// and acks each after its handler resolves. Redis going away never ends the loop: it backs off,
// and re-creates the group if Redis came back without it (a restart without persistence).
// Commands are node-redis' typed ones, with their RESP2 replies (the client's type pins RESP2).
import {
  type BusEvent,
  decodePayload,
  type Delivery,
  encodeEvent,
  type EventBus,
  type EventHandler,
  type SubscribeOptions,
  type Subscription,
  subscribeOptions,
  SubscriptionSet,
} from './event-bus.js';
import { closeRedisClient, type RedisClient } from '@commerce/platform/redis-client';

// Approximate trimming (whole macro nodes) is cheap; 100k is far more than a healthy backlog.
const MAX_LEN = 100_000;
const BACKOFF_MS = 500;
// Bounds how late a reclaim check can come, and how long a stop would wait if it did not interrupt.
const MAX_BLOCK_MS = 1000;

export interface EventBusLogger {
  warn(obj: object, msg: string): void;
}

export interface RedisEventBusOptions {
  /** Keys are `${prefix}:stream:${stream}`. */
  prefix: string;
  logger?: EventBusLogger;
}

export class RedisEventBus implements EventBus {
  private readonly subscriptions = new SubscriptionSet();

  /** The client stays the caller's: close() stops the subscriptions but leaves it open. */
  constructor(
    private readonly client: RedisClient,
    private readonly options: RedisEventBusOptions,
  ) {
    if (!/^[\w.:-]{1,64}$/.test(options.prefix)) throw new Error(`event bus prefix must be 1-64 word characters, got ${JSON.stringify(options.prefix)}`);
  }

  async publish(stream: string, event: BusEvent): Promise<void> {
    this.subscriptions.checkOpen();
    const payload = encodeEvent(stream, event);
    await this.client.xAdd(this.key(stream), '*', { id: event.id, type: event.type, payload }, { TRIM: { strategy: 'MAXLEN', strategyModifier: '~', threshold: MAX_LEN } });
  }

  subscribe(stream: string, options: SubscribeOptions, handler: EventHandler): Subscription {
    this.subscriptions.checkOpen();
    const resolved = subscribeOptions(stream, options);
    // Fail fast while disconnected, whatever the caller's client does: the loop backs off itself.
    const connection = this.client.duplicate({ disableOfflineQueue: true });
    return this.subscriptions.add(new RedisSubscription(connection, this.key(stream), resolved, handler, this.options.logger));
  }

  close(): Promise<void> {
    return this.subscriptions.close();
  }

  private key(stream: string): string {
    return `${this.options.prefix}:stream:${stream}`;
  }
}

interface Message {
  /** The stream entry id (what XACK takes), not the event's own id. */
  streamId: string;
  fields: Record<string, string | undefined>;
  attempt: number;
}

class RedisSubscription implements Subscription {
  readonly done: Promise<void>;
  waiting = false;
  private stopped = false;
  /** True from a handler call until its ack: stop() must not cut the connection then. */
  private handling = false;
  private groupReady = false;
  /** Where XAUTOCLAIM resumes its scan of the pending list. */
  private cursor = '0-0';
  private outage = false;
  private cancelPause: (() => void) | undefined;

  constructor(
    private readonly connection: RedisClient,
    private readonly key: string,
    private readonly options: Required<SubscribeOptions>,
    private readonly handler: EventHandler,
    private readonly logger: EventBusLogger | undefined,
  ) {
    // The loop reports outages (once each); an 'error' event without a listener would crash.
    connection.on('error', () => {});
    this.done = this.run();
  }

  async stop(): Promise<void> {
    if (!this.stopped) {
      this.stopped = true;
      this.cancelPause?.();
      // Cutting the connection ends a blocking read (or a connect) at once; a message it was about
      // to return stays pending and is reclaimed. Never during a handler: its ack must go out.
      if (!this.handling && this.connection.isOpen) this.connection.destroy();
    }
    await this.done;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        // Resolves once connected (the client retries by itself), or when stop() destroys it.
        if (!this.connection.isOpen) await this.connection.connect();
        await this.step();
        this.outage = false;
      } catch (error) {
        if (this.stopped) break;
        if (String((error as Error).message).startsWith('NOGROUP')) {
          // Redis lost the group (restarted empty, or the key was deleted): create it again now.
          this.groupReady = false;
          this.cursor = '0-0';
          continue;
        }
        this.report(error as Error);
        await this.pause(BACKOFF_MS);
      }
    }
    await closeRedisClient(this.connection).catch(() => {});
  }

  private async step(): Promise<void> {
    if (!this.groupReady) {
      await this.createGroup();
      this.groupReady = true;
    }
    const claimed = await this.claim();
    if (this.stopped) return;
    await this.handle(claimed.length > 0 ? claimed : await this.read());
  }

  /** From `0`: a new group gets the whole stream, so events published before subscribe are not lost. */
  private async createGroup(): Promise<void> {
    try {
      await this.connection.xGroupCreate(this.key, this.options.group, '0', { MKSTREAM: true });
    } catch (error) {
      if (!String((error as Error).message).startsWith('BUSYGROUP')) throw error;
    }
  }

  /** Messages idle longer than claimIdleMs, from any consumer of the group (this one included). */
  private async claim(): Promise<Message[]> {
    const { group, consumer, claimIdleMs, batchSize } = this.options;
    const reply = await this.connection.xAutoClaim(this.key, group, consumer, claimIdleMs, this.cursor, { COUNT: batchSize });
    this.cursor = reply.nextId;
    // Entries trimmed away since delivery come back as nil (Redis 6.2) or not at all (7+).
    const entries = reply.messages.filter((entry) => entry !== null);
    if (entries.length === 0) return [];
    // XAUTOCLAIM does not say how often a message was delivered; XPENDING does (claimed ones are now ours).
    const pending = await this.connection.xPendingRange(this.key, group, entries[0]!.id, entries.at(-1)!.id, batchSize * 10, { consumer });
    const deliveries = new Map(pending.map((row) => [row.id, row.deliveriesCounter]));
    return entries.map((entry) => ({ streamId: entry.id, fields: entry.message, attempt: deliveries.get(entry.id) || 2 }));
  }

  private async read(): Promise<Message[]> {
    const { group, consumer, claimIdleMs, batchSize } = this.options;
    // Never longer than claimIdleMs, so reclaims are checked about that often even on a quiet stream.
    const block = Math.min(MAX_BLOCK_MS, claimIdleMs);
    this.waiting = true;
    try {
      const reply = await this.connection.xReadGroup(group, consumer, { key: this.key, id: '>' }, { COUNT: batchSize, BLOCK: block });
      return (reply?.[0]?.messages ?? []).map((entry) => ({ streamId: entry.id, fields: entry.message, attempt: 1 }));
    } finally {
      this.waiting = false;
    }
  }

  private async handle(batch: Message[]): Promise<void> {
    const heldSince = Date.now();
    for (const message of batch) {
      if (this.stopped) return;
      // The rest of a batch held this long may already be reclaimed by another consumer: leave it
      // to the next XAUTOCLAIM rather than handle it twice.
      if (Date.now() - heldSince >= this.options.claimIdleMs) return;
      this.handling = true;
      try {
        if (await this.deliver(message)) await this.connection.xAck(this.key, this.options.group, message.streamId);
      } finally {
        this.handling = false;
      }
    }
  }

  /** True when the message is done with (handled, or undecodable and dropped). */
  private async deliver(message: Message): Promise<boolean> {
    let delivery: Delivery;
    try {
      const { id, type, payload } = message.fields;
      if (!id || !type) throw new Error('missing id or type');
      delivery = { id, type, payload: decodePayload(payload ?? ''), attempt: message.attempt };
    } catch (error) {
      // Redelivering what no handler can read would repeat forever.
      this.logger?.warn({ err: (error as Error).message, key: this.key, streamId: message.streamId }, 'event bus dropped a malformed message');
      return true;
    }
    try {
      await this.handler(delivery);
      return true;
    } catch (error) {
      this.logger?.warn(
        { err: (error as Error).message, key: this.key, group: this.options.group, eventId: delivery.id, attempt: delivery.attempt },
        `event handler failed; redelivered after ${this.options.claimIdleMs} ms`,
      );
      return false;
    }
  }

  private report(error: Error): void {
    if (this.outage) return;
    this.outage = true; // once per outage
    this.logger?.warn(
      { err: error.message, key: this.key, group: this.options.group, consumer: this.options.consumer },
      `event bus consumer cannot reach Redis; retrying every ${BACKOFF_MS} ms`,
    );
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.cancelPause = done;
    });
  }
}
