// The identities the gateway signs for the subgraphs (platform identity.ts): one token per caller,
// signed once and reused while enough of its minute is left for any request that takes it, instead
// of one EdDSA signature per request (the signature was the largest single cost of a small request
// once its subgraph fetches were cheap). The token says who is asking and nothing about the request.
import type { KeyObject } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { IDENTITY_TTL_SECONDS, type Identity, identityClaimsKey, signIdentity } from '@commerce/platform/identity';

/** Validity a reused token still has when it is handed out, beyond one fetch's deadline: a request's later fetches use it too. */
const LEFT_FOR_THE_REQUEST_MS = 20_000;
const CALLERS = 10_000;

export class IdentityTokens {
  private readonly tokens: LRUCache<string, { token: Promise<string>; signedAt: number }> | null;
  private readonly reuseMs: number;

  /** `fetchTimeoutMs`: the longest one subgraph fetch may take (SUBGRAPH_TIMEOUT_MS; a mutation: its timeout and grace). */
  constructor(
    private readonly key: KeyObject,
    fetchTimeoutMs: number,
  ) {
    this.reuseMs = IDENTITY_TTL_SECONDS * 1000 - LEFT_FOR_THE_REQUEST_MS - fetchTimeoutMs;
    // Fetches so long that a reused token could expire during one: sign every time, as before.
    this.tokens = this.reuseMs > 1000 ? new LRUCache({ max: CALLERS }) : null;
  }

  /** A valid token for this caller: the one signed for them less than the reuse time ago, or a new one. */
  tokenFor(identity: Identity): Promise<string> {
    if (!this.tokens) return signIdentity(this.key, identity);
    const caller = identityClaimsKey(identity);
    const now = Date.now();
    const known = this.tokens.get(caller);
    if (known && now - known.signedAt < this.reuseMs) return known.token;
    // iat is in whole seconds, rounded down: count the token's age from there.
    const signed = { token: signIdentity(this.key, identity), signedAt: Math.floor(now / 1000) * 1000 };
    this.tokens.set(caller, signed);
    signed.token.catch(() => this.tokens?.delete(caller));
    return signed.token;
  }
}
