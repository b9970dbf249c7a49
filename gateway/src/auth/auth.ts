// Authentication at the edge: a user JWT (HS256 secret or a JWKS), a partner API key (verified by
// the graph that owns API clients), or nobody. A credential that is present but wrong is HTTP 401
// with code UNAUTHENTICATED — never a silent fall-back to anonymous. A verified user token is
// remembered until it expires (at most a few minutes, so a key withdrawn from a JWKS stops working
// within that time), since clients send the same token with every request.
import type { IncomingHttpHeaders } from 'node:http';
import { LRUCache } from 'lru-cache';
import type { Identity } from '@commerce/platform/identity';
import { unauthenticatedRequest as unauthenticated } from '@commerce/platform/auth';
import { createRemoteJWKSet, errors as joseErrors, type JWTVerifyGetKey, jwtVerify } from 'jose';
import type { ApiKeyVerifier } from './api-keys.js';
import type { AuthConfig } from '../config.js';

/** How long a verified token is trusted without verifying it again (never past its expiry). */
const REMEMBER_TOKEN_MS = 5 * 60_000;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface UserTokenKey {
  key: Uint8Array | JWTVerifyGetKey;
  /** Only these algorithms verify: `none` and algorithm confusion (an RSA public key used as an HMAC secret) never do. */
  algorithms: string[];
}

export function userTokenKey(config: AuthConfig, developmentSecret: () => string): UserTokenKey {
  switch (config.userTokens.kind) {
    case 'jwks':
      return { key: createRemoteJWKSet(new URL(config.userTokens.url), { timeoutDuration: 3000, cooldownDuration: 30_000 }), algorithms: ['RS256', 'ES256'] };
    case 'secret':
      return { key: new TextEncoder().encode(config.userTokens.secret), algorithms: ['HS256'] };
    case 'development':
      return { key: new TextEncoder().encode(developmentSecret()), algorithms: ['HS256'] };
  }
}

export class Authenticator {
  private readonly verified = new LRUCache<string, { identity: Identity; expiresAt: number }>({ max: 10_000 });
  /** Verifications under way: a burst of one caller's requests, all arriving before the first is verified, share one. */
  private readonly verifying = new Map<string, Promise<Identity>>();

  constructor(
    private readonly config: AuthConfig,
    private readonly tokenKey: UserTokenKey,
    private readonly apiKeys: ApiKeyVerifier | null,
  ) {}

  async authenticate(headers: IncomingHttpHeaders): Promise<Identity> {
    const authorization = headers.authorization;
    const apiKey = headers['x-api-key'];
    if (authorization !== undefined && apiKey !== undefined) throw unauthenticated('send either a bearer token or an API key, not both');
    if (authorization !== undefined) return this.user(authorization);
    if (apiKey !== undefined) return this.partner(apiKey);
    return { kind: 'anonymous' };
  }

  private async user(authorization: string): Promise<Identity> {
    const match = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/.exec(authorization);
    if (!match) throw unauthenticated('the Authorization header must be "Bearer <JWT>"');
    const token = match[1] as string;
    const known = this.verified.get(token);
    // Expired exactly when jose would say so (its exp check is in whole seconds).
    if (known && Date.now() < known.expiresAt) return known.identity;
    const underWay = this.verifying.get(token);
    if (underWay) return underWay;
    const verifying = this.verify(token).finally(() => this.verifying.delete(token));
    this.verifying.set(token, verifying);
    return verifying;
  }

  private async verify(token: string): Promise<Identity> {
    let payload: Record<string, unknown>;
    try {
      const key = this.tokenKey.key;
      const options = { issuer: this.config.issuer, audience: this.config.audience, algorithms: this.tokenKey.algorithms, requiredClaims: ['exp', 'sub'] };
      ({ payload } = typeof key === 'function' ? await jwtVerify(token, key, options) : await jwtVerify(token, key, options));
    } catch (error) {
      throw unauthenticated(error instanceof joseErrors.JWTExpired ? 'token expired' : error instanceof joseErrors.JWTClaimValidationFailed ? `token claim ${error.claim} rejected` : 'token not valid');
    }
    const role = payload.role ?? 'USER';
    if (typeof payload.sub !== 'string' || !UUID.test(payload.sub)) throw unauthenticated('token subject is not a user id');
    if (role !== 'USER' && role !== 'ADMIN') throw unauthenticated('token role is not USER or ADMIN');
    const identity: Identity = Object.freeze({ kind: 'user', userId: payload.sub, role });
    const expiresAt = Number(payload.exp) * 1000;
    const ttl = Math.min(REMEMBER_TOKEN_MS, expiresAt - Date.now());
    if (ttl > 0) this.verified.set(token, { identity, expiresAt }, { ttl });
    return identity;
  }

  private async partner(apiKey: string | string[]): Promise<Identity> {
    if (typeof apiKey !== 'string' || !/^[A-Za-z0-9_-]{16,128}$/.test(apiKey)) throw unauthenticated('malformed API key');
    if (!this.apiKeys) throw unauthenticated('this graph does not accept API keys');
    const client = await this.apiKeys.verify(apiKey);
    if (!client) throw unauthenticated('unknown or revoked API key');
    return { kind: 'partner', clientId: client.id, clientName: client.name, tier: client.tier };
  }
}
