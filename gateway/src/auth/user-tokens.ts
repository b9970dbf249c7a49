// Issues user tokens the gateway accepts (HS256). For development tools and tests; in production
// tokens come from your identity provider (JWT_SECRET shared with it, or JWKS_URL).
import { SignJWT } from 'jose';
import { AUTH_DEFAULTS } from '../config.js';

export interface UserTokenClaims {
  userId: string;
  role: 'USER' | 'ADMIN';
  /** Seconds until it expires (default one hour); negative makes an already expired token. */
  ttlSeconds?: number;
  issuer?: string;
  audience?: string;
}

export function signUserToken(secret: string, claims: UserTokenClaims): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ role: claims.role })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(claims.userId)
    .setIssuer(claims.issuer ?? AUTH_DEFAULTS.issuer)
    .setAudience(claims.audience ?? AUTH_DEFAULTS.audience)
    .setIssuedAt(Math.min(now, now + (claims.ttlSeconds ?? 3600) - 60))
    .setExpirationTime(now + (claims.ttlSeconds ?? 3600))
    .sign(new TextEncoder().encode(secret));
}
