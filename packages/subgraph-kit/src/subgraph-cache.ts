// The subgraph's side of caching: entities by id read through the shared store (cache-aside, with
// a TTL), the tags of what each request read, and purges after writes commit. One purge removes
// the entity entries here and every gateway response built from them, on every replica, since all
// of them live in the same store.
import type { FailOpenCache } from '@commerce/platform/fail-open-cache';
import type { CacheCounters } from '@commerce/platform/metrics';
import { entityTag } from '@commerce/platform/cache-tags';
import { isUuid } from './scalars.js';
import { oneByKey } from './loaders.js';
import type { ReadRouter } from './replicas.js';

/** JSON that keeps Dates (Prisma rows carry them). */
export function encodeRow(row: unknown): string {
  return JSON.stringify(row, function replacer(this: Record<string, unknown>, key, value) {
    const raw = this[key];
    return raw instanceof Date ? { $date: raw.toISOString() } : value;
  });
}

export function decodeRow<V>(text: string): V {
  return JSON.parse(text, (_key, value) => (value !== null && typeof value === 'object' && typeof value.$date === 'string' && Object.keys(value).length === 1 ? new Date(value.$date) : value)) as V;
}


export class SubgraphCache {
  constructor(
    private readonly cache: FailOpenCache | null,
    /** `entity:<subgraph>:<version>`: a new schema never reads rows cached by an old one. */
    private readonly namespace: string,
    private readonly ttlMs: number,
    private readonly counters: CacheCounters,
    /** Read replicas (ADR 0005): reads that name their tags may run there; purges record write positions. */
    private readonly reads: ReadRouter | null = null,
  ) {}

  /**
   * A read concerning `tags` (and `resultTags` of its answer): on a read replica when one has
   * replayed every write that purged any of them, else on the primary; just `fetch()` without
   * replicas. `fetch` must only read (it may be sent twice).
   */
  read<T>(tags: readonly string[], fetch: () => Promise<T>, resultTags?: (answer: T) => Iterable<string>): Promise<T> {
    return this.reads ? this.reads.read(tags, fetch, resultTags) : fetch();
  }

  get enabled(): boolean {
    return this.cache !== null;
  }

  /**
   * One row (or null) per id, in id order: cached rows from the store, the rest from `fetch` (valid
   * ids only, one call) and then stored. Ids that are not UUIDs name no row and are answered null.
   * `as` is for what is stored when it is not the row of `type` itself (another subgraph's facts
   * about a `type`): the name of its entries, and the tag a row is kept under (and so purged by).
   */
  async rowsByIds<V extends { id: string }>(type: string, ids: readonly string[], fetch: (ids: string[]) => Promise<V[]>, as?: { entry: string; tag: (id: string) => string }): Promise<Array<V | null>> {
    const entry = as?.entry ?? type;
    const tagOf = as?.tag ?? ((id: string) => entityTag(type, id));
    const valid = [...new Set(ids.filter(isUuid))];
    const found = new Map<string, V>();
    const cache = this.cache;
    if (cache && valid.length > 0) {
      const keys = valid.map((id) => `${this.namespace}:${entry}:${id}`);
      // The clock is read before the database, so a write that commits meanwhile refuses our set.
      const lookup = Promise.all([cache.clock(), cache.get(keys)]);
      // With replicas, the write positions for a miss are asked in the same round trip, and after
      // the clock (commands on one connection run in order): a write whose position they miss
      // recorded it after them, so purged after our clock, and its purge refuses our set.
      const prepared = this.reads?.prepare() ?? null;
      const [startedAt, cached] = await lookup;
      if (cached === null) this.counters.requests.inc({ layer: 'entity', result: 'bypass' }, valid.length);
      const missing = valid.filter((id, i) => {
        const text = cached?.[i];
        if (text == null) return true;
        found.set(id, decodeRow<V>(text));
        return false;
      });
      if (cached !== null) {
        this.counters.requests.inc({ layer: 'entity', result: 'hit' }, valid.length - missing.length);
        this.counters.requests.inc({ layer: 'entity', result: 'miss' }, missing.length);
      }
      if (missing.length > 0) {
        // Filled from an answer read.read() has checked: a replica's only if it had replayed every
        // write to these rows, so no purge is undone by a lagging replica.
        const fetched = this.reads ? this.reads.read(missing.map(tagOf), () => fetch(missing), undefined, prepared) : fetch(missing);
        for (const row of await fetched) {
          found.set(row.id, row);
          if (startedAt !== null && cached !== null) {
            void cache.set({ key: `${this.namespace}:${entry}:${row.id}`, value: encodeRow(row), ttlMs: this.ttlMs, tags: [tagOf(row.id)], readStartedAt: startedAt }).then((stored) => {
              if (stored === false) this.counters.setsRefused.inc({ layer: 'entity' });
            });
          }
        }
      }
    } else if (valid.length > 0) {
      for (const row of await this.read(valid.map(tagOf), () => fetch(valid))) found.set(row.id, row);
    }
    return oneByKey(ids, [...found.values()], (row) => row.id);
  }

  /**
   * After a write commits: every entry built from these tags goes, here and at every gateway. With
   * replicas, the primary's WAL position is recorded for these tags first, so that from the moment
   * the purge lands no read of them is answered by a replica that has not replayed the write.
   */
  async purge(tags: readonly string[]): Promise<void> {
    if (tags.length === 0) return;
    await this.reads?.recordWrite(tags);
    if (!this.cache) return;
    const done = await this.cache.purge(tags);
    this.counters.purges.inc({ result: done ? 'ok' : 'deferred' });
  }
}

/** The per-request face of the cache: what this request read (its tags), and purges. */
export class RequestCache {
  readonly tags = new Set<string>();

  constructor(private readonly shared: SubgraphCache) {}

  /** Notes that this response was built from these (lists, usually; entities tag themselves). */
  tag(...tags: string[]): void {
    for (const tag of tags) this.tags.add(tag);
  }

  /** Rows by id through the entity cache; every id asked for tags the response (a null too). */
  rowsByIds<V extends { id: string }>(type: string, ids: readonly string[], fetch: (ids: string[]) => Promise<V[]>): Promise<Array<V | null>> {
    for (const id of ids) if (isUuid(id)) this.tags.add(entityTag(type, id));
    return this.shared.rowsByIds(type, ids, fetch);
  }

  /**
   * A read that is not by id (a list, a count, an order's lines): tags the request with `tags` and
   * with `resultTags` of the answer, and runs it on a replica when that is safe (SubgraphCache.read).
   */
  async read<T>(tags: readonly string[], fetch: () => Promise<T>, resultTags?: (answer: T) => Iterable<string>): Promise<T> {
    for (const tag of tags) this.tags.add(tag);
    const answer = await this.shared.read(tags, fetch, resultTags);
    if (resultTags) for (const tag of resultTags(answer)) this.tags.add(tag);
    return answer;
  }

  /** Tags rows that a list read returned. */
  tagRows(type: string, rows: ReadonlyArray<{ id: string }>): void {
    for (const row of rows) this.tags.add(entityTag(type, row.id));
  }

  purge(tags: readonly string[]): Promise<void> {
    return this.shared.purge(tags);
  }
}
