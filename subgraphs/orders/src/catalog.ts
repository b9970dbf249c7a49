// What orders needs to know about products when an order is placed: that each exists (and is not
// deleted), its name (kept on the line) and its current price (provisional until the reservation
// captures the price of that moment). Asked of the products subgraph through its entity resolver,
// one request for all lines, with the platform's GraphQL client: the gateway's policy for a
// subgraph call (timeout, retries, breaker, request id, the caller's identity, a trace span).
// The answers are kept in the shared cache under each product's catalog tag (`Product:<id>:catalog`),
// which products purges, with the product's own tag, after every write that changes a name, a
// price or whether the product exists, and before that write is answered: on every replica at
// once, as the gateway's responses built from the product go (subgraph-cache.ts: the store's clock
// refuses a fill that raced a purge). A reservation changes only stock and leaves them be. Under
// a burst of orders for a few products this is one Redis round trip instead of an HTTP call and a
// GraphQL request in products: that call was about a third of the CPU an order cost
// (docs/orders.md). Products that do not exist are never kept: each such order asks again, and is
// refused NOT_FOUND.
import { currentDeadline, withLatestDeadline } from '@commerce/platform/deadline';
import { FreshBatches } from '@commerce/platform/fresh-batches';
import { GraphQLClient, GraphQLUnavailableError, type UnavailableReason } from '@commerce/platform/graphql-client';
import { within } from '@commerce/platform/within';
import { amountToCents, catalogTag, type SubgraphCache } from '@commerce/subgraph-kit';

/** Kept under the tag products purges (products/src/resolvers.ts) whenever any of it changes. */
const CACHED_AS = { entry: 'CatalogProduct', tag: (id: string) => catalogTag('Product', id) };

export interface CatalogProduct {
  id: string;
  name: string;
  priceCents: number;
  currency: string;
}

export class CatalogUnavailableError extends Error {
  /** Why, when the call itself failed (a timeout, the deadline, unreachable, …); undefined for an answer that was no answer. */
  constructor(message: string, readonly reason?: UnavailableReason) {
    super(message);
  }
}

const QUERY = 'query ($representations: [_Any!]!) { _entities(representations: $representations) { ... on Product { id name price { amount currency } } } }';

type CatalogCall = { requestId?: string; identityToken?: string | null; deadline?: number };

type Entities = { _entities?: Array<{ id: string; name: string; price: { amount: string; currency: string } } | null> };

export class ProductCatalog {
  private readonly client: GraphQLClient;
  private readonly timeoutMs: number;

  private readonly cache: SubgraphCache | null;
  /** One question for the misses of many calls: the first caller's request id and identity, the latest deadline. */
  private readonly batches = new FreshBatches<string, CatalogProduct, CatalogCall>(async (ids, calls) => {
    const products = await withLatestDeadline(calls.map((call) => call.deadline), () => this.ask(ids, { ...calls[0], deadline: currentDeadline() }));
    return new Map(products.flatMap((product) => (product ? [[product.id, product] as const] : [])));
  });

  constructor(url: string, options: { timeoutMs?: number; retries?: number; breakerResetMs?: number; cache?: SubgraphCache } = {}) {
    this.timeoutMs = options.timeoutMs ?? 3000;
    this.client = new GraphQLClient({ name: 'products', url, timeoutMs: this.timeoutMs, retries: options.retries ?? 1, breakerResetMs: options.breakerResetMs ?? 2000 });
    this.cache = options.cache?.enabled ? options.cache : null;
  }

  /** One entry per id, in id order: the product, or null when there is none (or it was deleted). */
  async products(ids: readonly string[], call: CatalogCall = {}): Promise<Array<CatalogProduct | null>> {
    if (!this.cache) return this.ask(ids, call);
    return this.cache.rowsByIds('Product', ids, (missing) => this.askShared(missing, call), CACHED_AS);
  }

  /**
   * Concurrent misses share questions (a burst of orders for one product all miss at once, before
   * the first answer is stored), but only questions not yet sent (fresh-batches.ts): no answer
   * comes from a read older than its caller's call. Each caller waits no longer than its own deadline.
   */
  private async askShared(ids: readonly string[], call: CatalogCall): Promise<CatalogProduct[]> {
    const answers = Promise.all(ids.map((id) => this.batches.load(id, call)));
    const found = await (call.deadline === undefined ? answers : within(answers, Math.max(0, call.deadline - Date.now()), () => new CatalogUnavailableError('products lookup: the deadline passed', 'deadline')));
    return found.filter((product) => product !== undefined);
  }

  /** The products subgraph's answer for these ids. */
  private async ask(ids: readonly string[], call: CatalogCall): Promise<Array<CatalogProduct | null>> {
    let answer;
    try {
      // Retries fit in one timeout's worth of time, and never past the caller's deadline: a quick
      // failure is tried again, a slow one is not.
      const deadline = Math.min(Date.now() + this.timeoutMs, call.deadline ?? Number.POSITIVE_INFINITY);
      answer = await this.client.request<Entities>(QUERY, { representations: ids.map((id) => ({ __typename: 'Product', id })) }, { ...call, deadline, retryable: true });
    } catch (error) {
      // Unavailable, or an answer that is not GraphQL at all: either way the products cannot be checked.
      throw new CatalogUnavailableError(`products lookup failed: ${error instanceof GraphQLUnavailableError ? error.message : String(error)}`, error instanceof GraphQLUnavailableError ? error.reason : undefined);
    }
    // A product that could not be read (its own deadline passed, its database away) is not a
    // product that does not exist: only a clean answer says which products are missing.
    if (answer.errors?.length) {
      const late = answer.errors.some((error) => error.extensions?.code === 'DEADLINE_EXCEEDED');
      throw new CatalogUnavailableError(`products lookup failed: ${JSON.stringify(answer.errors).slice(0, 300)}`, late ? 'deadline' : undefined);
    }
    const entities = answer.data?._entities;
    if (!entities) throw new CatalogUnavailableError(`products lookup failed: ${JSON.stringify(answer.errors ?? 'no data').slice(0, 300)}`);
    return entities.map((entity) => (entity ? { id: entity.id, name: entity.name, priceCents: amountToCents(entity.price.amount) ?? 0, currency: entity.price.currency } : null));
  }

  shutdown(): void {
    this.client.shutdown();
  }
}
