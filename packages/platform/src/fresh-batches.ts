// Many callers asking for the same few things at once (a burst of orders for one product, hundreds
// of placeOrder calls looking for their outcomes) share reads, without any of them getting an
// answer older than its own call: a key joins only a batch not yet sent, so every answer comes
// from a read that began after it was asked for. One batch is out at a time; keys asked for
// meanwhile wait for the next, sent as soon as that one returns (and those asked in the same tick
// as an idle start go together). A read per caller becomes a read per round trip.

export class FreshBatches<K, V, C> {
  private queued: { keys: Set<K>; contexts: C[]; result: Promise<ReadonlyMap<K, V>> } | null = null;
  private running: Promise<unknown> | null = null;

  /**
   * `fetch` reads these keys (a key it leaves out has no value) for these callers' contexts (one
   * per load, in order: what the read may need of them, such as the latest deadline).
   */
  constructor(private readonly fetch: (keys: K[], contexts: readonly C[]) => Promise<ReadonlyMap<K, V>>) {}

  /** The key's value from a read sent after this call, or undefined when it has none. */
  async load(key: K, context: C): Promise<V | undefined> {
    let batch = this.queued;
    if (!batch) {
      const keys = new Set<K>();
      const contexts: C[] = [];
      const before = this.running ?? Promise.resolve();
      const result = before.then(ignore, ignore).then(() => {
        this.queued = null;
        return this.send(keys, contexts);
      });
      batch = this.queued = { keys, contexts, result };
    }
    batch.keys.add(key);
    batch.contexts.push(context);
    return (await batch.result).get(key);
  }

  private send(keys: Set<K>, contexts: readonly C[]): Promise<ReadonlyMap<K, V>> {
    const sent = this.fetch([...keys], contexts);
    this.running = sent;
    const done = () => {
      if (this.running === sent) this.running = null;
    };
    sent.then(done, done);
    return sent;
  }
}

const ignore = (): void => {};
