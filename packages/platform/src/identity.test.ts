import { generateKeyPairSync } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { decodeJwt } from 'jose';
import { identityClaimsKey, IdentityVerifier, signIdentity } from './identity.js';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');

describe('forwarded identities', () => {
  afterEach(() => vi.useRealTimers());

  it('carry who is asking and nothing about the request', async () => {
    const token = await signIdentity(privateKey, { kind: 'user', userId: 'u1', role: 'USER' });
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({ knd: 'user', userId: 'u1', role: 'USER' });
    expect(claims).not.toHaveProperty('rid');
    expect(claims.exp! - claims.iat!).toBe(60);
  });

  it('a remembered token still expires at its exp; an altered one is refused however often the genuine one verified', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const verifier = new IdentityVerifier(publicKey);
    const token = await signIdentity(privateKey, { kind: 'anonymous', clientIp: '10.0.0.1' });
    expect(await verifier.verify(token)).toEqual({ kind: 'anonymous', clientIp: '10.0.0.1' });
    expect(await verifier.verify(token)).toEqual({ kind: 'anonymous', clientIp: '10.0.0.1' });
    const [head, payload, signature] = token.split('.') as [string, string, string];
    const forged = [head, Buffer.from(JSON.stringify({ ...decodeJwt(token), clientIp: '10.0.0.2' })).toString('base64url'), signature].join('.');
    expect(payload).not.toBe(forged.split('.')[1]);
    await expect(verifier.verify(forged)).rejects.toThrow('identity not verifiable');
    vi.setSystemTime(Date.now() + 61_000);
    await expect(verifier.verify(token)).rejects.toThrow('identity expired');
  });

  it('one key per set of claims', () => {
    expect(identityClaimsKey({ kind: 'anonymous', clientIp: '1.2.3.4' })).not.toBe(identityClaimsKey({ kind: 'anonymous', clientIp: '1.2.3.5' }));
    expect(identityClaimsKey({ kind: 'user', userId: 'u', role: 'USER' })).not.toBe(identityClaimsKey({ kind: 'user', userId: 'u', role: 'ADMIN' }));
    expect(identityClaimsKey({ kind: 'user', userId: 'u', role: 'USER' })).toBe(identityClaimsKey({ kind: 'user', userId: 'u', role: 'USER' }));
  });
});
