// What orders needs to know about products when an order is placed: that each exists (and is not
// deleted), its name (kept on the line) and its current price (provisional until the reservation
// captures the price of that moment). Asked of the products subgraph through its entity resolver,
// one request for all lines, with the platform's GraphQL client: the gateway's policy for a
// subgraph call (timeout, retries, breaker, request id, the caller's identity, a trace span).
import { GraphQLClient, GraphQLUnavailableError, type UnavailableReason } from '@commerce/platform/graphql-client';
import { amountToCents } from '@commerce/subgraph-kit';

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

type Entities = { _entities?: Array<{ id: string; name: string; price: { amount: string; currency: string } } | null> };

export class ProductCatalog {
  private readonly client: GraphQLClient;
  private readonly timeoutMs: number;

  constructor(url: string, options: { timeoutMs?: number; retries?: number; breakerResetMs?: number } = {}) {
    this.timeoutMs = options.timeoutMs ?? 3000;
    this.client = new GraphQLClient({ name: 'products', url, timeoutMs: this.timeoutMs, retries: options.retries ?? 1, breakerResetMs: options.breakerResetMs ?? 2000 });
  }

  /** One entry per id, in id order: the product, or null when there is none (or it was deleted). */
  async products(ids: readonly string[], call: { requestId?: string; identityToken?: string | null; deadline?: number } = {}): Promise<Array<CatalogProduct | null>> {
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
