// The in-process bus for the embedded graph (`npm start`: every service in one process). It keeps
// the Redis bus' semantics so the saga behaves the same in both modes: a log per stream, consumer
// groups with their own position and pending list, redelivery of un-acked messages after
// claimIdleMs to any consumer of the group, new groups reading from the start of the stream.
// Nothing polls: a publish or a message being handed out wakes waiting consumers, and a timer per
// waiting consumer fires when the earliest pending message becomes reclaimable.
import {
  type BusEvent,
  decodePayload,
  encodeEvent,
  type EventBus,
  type EventHandler,
  type SubscribeOptions,
  type Subscription,
  subscribeOptions,
  SubscriptionSet,
} from './event-bus.js';

// Like the Redis bus' MAXLEN: a long-running embedded graph must not grow without bound.
const MAX_LEN = 100_000;
const TRIM_SLACK = 1_000;

interface Entry {
  seq: number;
  id: string;
  type: string;
  payload: string;
}

interface Pending {
  entry: Entry;
  consumer: string;
  deliveredAt: number;
  deliveries: number;
}

interface Group {
  /** seq of the next entry never handed to this group. */
  next: number;
  pending: Map<number, Pending>;
}

class Stream {
  readonly log: Entry[] = [];
  /** seq of log[0] (earlier entries were trimmed). */
  first = 0;
  readonly groups = new Map<string, Group>();
  readonly waiters = new Set<() => void>();

  append(event: BusEvent, payload: string): void {
    this.log.push({ seq: this.first + this.log.length, id: event.id, type: event.type, payload });
    if (this.log.length > MAX_LEN + TRIM_SLACK) {
      const drop = this.log.length - MAX_LEN;
      this.log.splice(0, drop);
      this.first += drop;
    }
    this.wake();
  }

  /** A new group starts at the beginning, so events published before the first subscribe are not lost. */
  group(name: string): Group {
    let group = this.groups.get(name);
    if (!group) {
      group = { next: this.first, pending: new Map() };
      this.groups.set(name, group);
    }
    return group;
  }

  wake(): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const waiter of waiters) waiter();
  }
}

export class MemoryEventBus implements EventBus {
  private readonly streams = new Map<string, Stream>();
  private readonly subscriptions = new SubscriptionSet();

  constructor(private readonly now: () => number = Date.now) {}

  async publish(stream: string, event: BusEvent): Promise<void> {
    this.subscriptions.checkOpen();
    const payload = encodeEvent(stream, event);
    this.stream(stream).append(event, payload);
  }

  subscribe(stream: string, options: SubscribeOptions, handler: EventHandler): Subscription {
    this.subscriptions.checkOpen();
    return this.subscriptions.add(new MemorySubscription(this.stream(stream), subscribeOptions(stream, options), handler, this.now));
  }

  close(): Promise<void> {
    return this.subscriptions.close();
  }

  private stream(name: string): Stream {
    let stream = this.streams.get(name);
    if (!stream) {
      stream = new Stream();
      this.streams.set(name, stream);
    }
    return stream;
  }
}

class MemorySubscription implements Subscription {
  readonly done: Promise<void>;
  waiting = false;
  private stopped = false;
  private readonly group: Group;
  private interrupt: (() => void) | undefined;

  constructor(
    private readonly stream: Stream,
    private readonly options: Required<SubscribeOptions>,
    private readonly handler: EventHandler,
    private readonly now: () => number,
  ) {
    this.group = stream.group(options.group);
    this.done = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.interrupt?.();
    await this.done;
  }

  private async run(): Promise<void> {
    // Let subscribe() return before the first handler call, as with Redis.
    await Promise.resolve();
    while (!this.stopped) {
      const taken = this.take();
      if (!taken) {
        await this.idle();
        continue;
      }
      // Others waiting may need to arm a reclaim timer for the message just handed out.
      this.stream.wake();
      const { entry } = taken;
      let ok = false;
      try {
        await this.handler({ id: entry.id, type: entry.type, payload: decodePayload(entry.payload), attempt: taken.deliveries });
        ok = true;
      } catch {
        // Stays pending: redelivered after claimIdleMs, as the interface promises.
      }
      // Any consumer's ack settles the message, as XACK does, even if it was reclaimed meanwhile.
      if (ok) this.group.pending.delete(entry.seq);
    }
  }

  /**
   * The oldest reclaimable pending message, else the next new one; one at a time because handing
   * out a batch in-process buys nothing and would only make the tail of a batch reclaimable early.
   */
  private take(): Pending | undefined {
    const now = this.now();
    let oldest: Pending | undefined;
    for (const pending of this.group.pending.values()) {
      if (now - pending.deliveredAt >= this.options.claimIdleMs && (!oldest || pending.entry.seq < oldest.entry.seq)) oldest = pending;
    }
    if (oldest) {
      oldest.consumer = this.options.consumer;
      oldest.deliveredAt = now;
      oldest.deliveries += 1;
      return oldest;
    }
    const { log, first } = this.stream;
    const index = Math.max(this.group.next, first) - first;
    const entry = log[index];
    if (!entry) return undefined;
    this.group.next = entry.seq + 1;
    const pending = { entry, consumer: this.options.consumer, deliveredAt: now, deliveries: 1 };
    this.group.pending.set(entry.seq, pending);
    return pending;
  }

  /** Until a publish, a hand-out in the stream, the earliest reclaim of this group, or stop. */
  private idle(): Promise<void> {
    return new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const wake = () => {
        this.waiting = false;
        clearTimeout(timer);
        this.stream.waiters.delete(wake);
        this.interrupt = undefined;
        resolve();
      };
      this.stream.waiters.add(wake);
      this.interrupt = wake;
      this.waiting = true;
      let due = Infinity;
      for (const pending of this.group.pending.values()) due = Math.min(due, pending.deliveredAt + this.options.claimIdleMs);
      if (due !== Infinity) timer = setTimeout(wake, Math.max(0, due - this.now())).unref();
    });
  }
}
