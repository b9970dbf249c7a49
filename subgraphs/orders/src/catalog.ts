// What orders needs to know about products when an order is placed: that each exists (and is not
// deleted), its name (kept on the line) and its current price (provisional until the reservation
// captures the price of that moment). Asked of the products subgraph over HTTP, as the gateway
// would, through its entity resolver: one request for all lines.
import { amountToCents } from '@commerce/subgraph-kit';

export interface CatalogProduct {
  id: string;
  name: string;
  priceCents: number;
  currency: string;
}

export class CatalogUnavailableError extends Error {}

const QUERY = 'query ($representations: [_Any!]!) { _entities(representations: $representations) { ... on Product { id name price { amount currency } } } }';

export class ProductCatalog {
  constructor(private readonly url: string, private readonly timeoutMs = 3000) {}

  /** One entry per id, in id order: the product, or null when there is none (or it was deleted). */
  async products(ids: readonly string[], requestId?: string): Promise<Array<CatalogProduct | null>> {
    let body: { data?: { _entities?: Array<{ id: string; name: string; price: { amount: string; currency: string } } | null> }; errors?: unknown[] };
    try {
      const response = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(requestId ? { 'x-request-id': requestId } : {}) },
        body: JSON.stringify({ query: QUERY, variables: { representations: ids.map((id) => ({ __typename: 'Product', id })) } }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      body = (await response.json()) as typeof body;
      if (!response.ok || !body.data?._entities) throw new Error(`products answered ${response.status}`);
    } catch (error) {
      throw new CatalogUnavailableError(`products lookup failed: ${String(error)}`);
    }
    return body.data._entities.map((entity) => (entity ? { id: entity.id, name: entity.name, priceCents: amountToCents(entity.price.amount) ?? 0, currency: entity.price.currency } : null));
  }
}
