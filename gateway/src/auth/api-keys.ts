// Verifies partner API keys by asking the graph that owns API clients (users), over the same
// signed-identity channel as any subgraph fetch; the gateway never opens another service's
// database. Answers are remembered briefly (a revocation takes effect within that time).
import { createHash } from 'node:crypto';
import { IDENTITY_HEADER } from '@commerce/platform/identity';
import { GraphQLError } from 'graphql';
import { LRUCache } from 'lru-cache';

export interface ApiClientInfo {
  id: string;
  name: string;
  tier: string;
}

const LOOKUP = 'query ApiClientByKey($key: String!) { _apiClientByKey(key: $key) { id name tier revoked } }';
const MAX_ENTRIES = 10_000;

export class ApiKeyVerifier {
  private readonly cache = new LRUCache<string, { client: ApiClientInfo | null }>({ max: MAX_ENTRIES });

  constructor(
    private readonly url: string,
    private readonly serviceIdentity: () => Promise<string>,
    private readonly ttlMs: number,
  ) {}

  async verify(apiKey: string): Promise<ApiClientInfo | null> {
    const id = createHash('sha256').update(apiKey).digest('hex');
    const cached = this.cache.get(id);
    if (cached) return cached.client;
    const client = await this.lookup(apiKey);
    // Refusals are remembered for less time, so a key created a moment ago starts working soon.
    const ttl = client ? this.ttlMs : Math.min(this.ttlMs, 5000);
    if (ttl > 0) this.cache.set(id, { client }, { ttl });
    return client;
  }

  private async lookup(apiKey: string): Promise<ApiClientInfo | null> {
    let body: { data?: { _apiClientByKey: (ApiClientInfo & { revoked: boolean }) | null }; errors?: unknown[] };
    try {
      const response = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [IDENTITY_HEADER]: await this.serviceIdentity() },
        body: JSON.stringify({ query: LOOKUP, variables: { key: apiKey } }),
        signal: AbortSignal.timeout(3000),
      });
      body = (await response.json()) as typeof body;
    } catch {
      throw new GraphQLError('API keys cannot be checked right now; try again shortly.', { extensions: { code: 'SUBGRAPH_UNAVAILABLE', http: { status: 503 } } });
    }
    if (body.errors || !body.data) {
      throw new GraphQLError('API keys cannot be checked right now; try again shortly.', { extensions: { code: 'SUBGRAPH_UNAVAILABLE', http: { status: 503 } } });
    }
    const client = body.data._apiClientByKey;
    return client && !client.revoked ? { id: client.id, name: client.name, tier: client.tier } : null;
  }
}
