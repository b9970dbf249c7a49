// The identity the gateway forwards to subgraphs: a short-lived JWT signed with a private key only
// the gateway holds (EdDSA / Ed25519). Subgraphs hold only the public key, so neither a client nor
// a compromised subgraph can mint one. It says who is asking and nothing about the request (the
// request id travels as `x-request-id`), so the gateway signs one per caller and reuses it for
// most of its lifetime instead of signing every request.
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';

export const IDENTITY_HEADER = 'x-commerce-identity';
const ISSUER = 'commerce-gateway';
const AUDIENCE = 'commerce-subgraphs';
/** Long enough for many requests' subgraph fetches, short enough that a leaked token is soon useless. */
export const IDENTITY_TTL_SECONDS = 60;

export type Role = 'USER' | 'ADMIN';

/** Who is asking, as the gateway established it. */
export type Identity =
  /** clientIp: the address the gateway saw, so per-client limits in subgraphs can tell anonymous callers apart. */
  | { kind: 'anonymous'; clientIp?: string }
  | { kind: 'user'; userId: string; role: Role }
  | { kind: 'partner'; clientId: string; clientName: string; tier: string }
  /** The gateway itself, for internal operations (API key lookup). */
  | { kind: 'service'; service: string };

/** The identity's claims as one string: equal for two callers exactly when their signed identities say the same. */
export function identityClaimsKey(identity: Identity): string {
  switch (identity.kind) {
    case 'anonymous':
      return `anonymous\0${identity.clientIp ?? ''}`;
    case 'user':
      return `user\0${identity.userId}\0${identity.role}`;
    case 'partner':
      return `partner\0${identity.clientId}\0${identity.clientName}\0${identity.tier}`;
    case 'service':
      return `service\0${identity.service}`;
  }
}

export const ANONYMOUS: Identity = { kind: 'anonymous' };

export class IdentityError extends Error {}

/** Accepts a PEM, or a PEM in base64 (handy in environment variables). */
function pem(text: string): string {
  return text.includes('-----BEGIN') ? text : Buffer.from(text, 'base64').toString('utf8');
}
export const identityPrivateKey = (text: string): KeyObject => createPrivateKey(pem(text));
export const identityPublicKey = (text: string): KeyObject => createPublicKey(pem(text));

export async function signIdentity(key: KeyObject, identity: Identity): Promise<string> {
  const { kind, ...claims } = identity;
  return new SignJWT({ ...claims, knd: kind })
    .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(`${IDENTITY_TTL_SECONDS}s`)
    .sign(key);
}

/** Verifies a forwarded identity; throws IdentityError for anything forged, expired or malformed. */
export async function verifyIdentity(key: KeyObject, token: string): Promise<Identity> {
  return (await verifiedIdentity(key, token)).identity;
}

/** The identity and when its token expires (epoch ms), for a verifier that remembers tokens. */
export async function verifiedIdentity(key: KeyObject, token: string): Promise<{ identity: Identity; expiresAt: number }> {
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(token, key, { issuer: ISSUER, audience: AUDIENCE, algorithms: ['EdDSA'], maxTokenAge: `${IDENTITY_TTL_SECONDS + 5}s`, requiredClaims: ['exp', 'iat'] }));
  } catch (error) {
    throw new IdentityError(error instanceof joseErrors.JWTExpired ? 'identity expired' : 'identity not verifiable');
  }
  // Whichever comes first: the token's own expiry, or the most age a verifier accepts.
  const expiresAt = Math.min(Number(payload.exp), Number(payload.iat) + IDENTITY_TTL_SECONDS + 5) * 1000;
  const str = (name: string) => {
    const value = payload[name];
    if (typeof value !== 'string' || value === '') throw new IdentityError(`identity claim ${name} missing`);
    return value;
  };
  switch (payload.knd) {
    case 'anonymous':
      return { identity: { kind: 'anonymous', ...(typeof payload.clientIp === 'string' ? { clientIp: payload.clientIp } : {}) }, expiresAt };
    case 'user': {
      const role = str('role');
      if (role !== 'USER' && role !== 'ADMIN') throw new IdentityError('identity role invalid');
      return { identity: { kind: 'user', userId: str('userId'), role }, expiresAt };
    }
    case 'partner':
      return { identity: { kind: 'partner', clientId: str('clientId'), clientName: str('clientName'), tier: str('tier') }, expiresAt };
    case 'service':
      return { identity: { kind: 'service', service: str('service') }, expiresAt };
    default:
      throw new IdentityError('identity kind invalid');
  }
}

/**
 * Verifies forwarded identities and remembers each token until it expires: the gateway sends one
 * token per caller for most of a minute, and an EdDSA verification costs more than the rest of a
 * small request. A forged or altered token is another string, verified (and refused) on its own;
 * refusals are not remembered.
 */
export class IdentityVerifier {
  private readonly known = new Map<string, { identity: Identity; expiresAt: number }>();
  /** Verifications under way: the requests of a burst, all arriving before the first is verified, share one. */
  private readonly verifying = new Map<string, Promise<Identity>>();

  constructor(
    private readonly key: KeyObject,
    private readonly max = 10_000,
  ) {}

  async verify(token: string): Promise<Identity> {
    const known = this.known.get(token);
    if (known) {
      if (Date.now() < known.expiresAt) return known.identity;
      this.known.delete(token);
      throw new IdentityError('identity expired');
    }
    const underWay = this.verifying.get(token);
    if (underWay) return underWay;
    const verifying = this.remember(token).finally(() => this.verifying.delete(token));
    this.verifying.set(token, verifying);
    return verifying;
  }

  private async remember(token: string): Promise<Identity> {
    const verified = await verifiedIdentity(this.key, token);
    Object.freeze(verified.identity);
    if (this.known.size >= this.max) this.known.delete(this.known.keys().next().value as string);
    this.known.set(token, verified);
    return verified.identity;
  }
}
