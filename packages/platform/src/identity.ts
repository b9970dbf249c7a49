// The identity the gateway forwards to subgraphs: a short-lived JWT signed with a private key only
// the gateway holds (EdDSA / Ed25519). Subgraphs hold only the public key, so neither a client nor
// a compromised subgraph can mint one.
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';

export const IDENTITY_HEADER = 'x-commerce-identity';
const ISSUER = 'commerce-gateway';
const AUDIENCE = 'commerce-subgraphs';
/** Long enough for one request's subgraph fetches, short enough that a leaked token is soon useless. */
const TTL_SECONDS = 60;

export type Role = 'USER' | 'ADMIN';

/** Who is asking, as the gateway established it. */
export type Identity =
  /** clientIp: the address the gateway saw, so per-client limits in subgraphs can tell anonymous callers apart. */
  | { kind: 'anonymous'; requestId?: string; clientIp?: string }
  | { kind: 'user'; userId: string; role: Role; requestId?: string }
  | { kind: 'partner'; clientId: string; clientName: string; tier: string; requestId?: string }
  /** The gateway itself, for internal operations (API key lookup). */
  | { kind: 'service'; service: string; requestId?: string };

export const ANONYMOUS: Identity = { kind: 'anonymous' };

export class IdentityError extends Error {}

/** Accepts a PEM, or a PEM in base64 (handy in environment variables). */
function pem(text: string): string {
  return text.includes('-----BEGIN') ? text : Buffer.from(text, 'base64').toString('utf8');
}
export const identityPrivateKey = (text: string): KeyObject => createPrivateKey(pem(text));
export const identityPublicKey = (text: string): KeyObject => createPublicKey(pem(text));

export async function signIdentity(key: KeyObject, identity: Identity): Promise<string> {
  const { kind, requestId, ...claims } = identity;
  return new SignJWT({ ...claims, knd: kind, rid: requestId })
    .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(`${TTL_SECONDS}s`)
    .sign(key);
}

/** Verifies a forwarded identity; throws IdentityError for anything forged, expired or malformed. */
export async function verifyIdentity(key: KeyObject, token: string): Promise<Identity> {
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(token, key, { issuer: ISSUER, audience: AUDIENCE, algorithms: ['EdDSA'], maxTokenAge: `${TTL_SECONDS + 5}s` }));
  } catch (error) {
    throw new IdentityError(error instanceof joseErrors.JWTExpired ? 'identity expired' : 'identity not verifiable');
  }
  const requestId = typeof payload.rid === 'string' ? payload.rid : undefined;
  const str = (name: string) => {
    const value = payload[name];
    if (typeof value !== 'string' || value === '') throw new IdentityError(`identity claim ${name} missing`);
    return value;
  };
  switch (payload.knd) {
    case 'anonymous':
      return { kind: 'anonymous', requestId, ...(typeof payload.clientIp === 'string' ? { clientIp: payload.clientIp } : {}) };
    case 'user': {
      const role = str('role');
      if (role !== 'USER' && role !== 'ADMIN') throw new IdentityError('identity role invalid');
      return { kind: 'user', userId: str('userId'), role, requestId };
    }
    case 'partner':
      return { kind: 'partner', clientId: str('clientId'), clientName: str('clientName'), tier: str('tier'), requestId };
    case 'service':
      return { kind: 'service', service: str('service'), requestId };
    default:
      throw new IdentityError('identity kind invalid');
  }
}
