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

  it('concurrent requests with one token share its verification; a refusal is shared, not remembered', async () => {
    const verifier = new IdentityVerifier(publicKey);
    const token = await signIdentity(privateKey, { kind: 'user', userId: 'u1', role: 'USER' });
    const identities = await Promise.all(Array.from({ length: 50 }, () => verifier.verify(token)));
    expect(new Set(identities).size).toBe(1);
    expect(identities[0]).toEqual({ kind: 'user', userId: 'u1', role: 'USER' });
    const [head, , signature] = token.split('.') as [string, string, string];
    const forged = [head, Buffer.from(JSON.stringify({ ...decodeJwt(token), userId: 'u2' })).toString('base64url'), signature].join('.');
    const refusals = await Promise.allSettled(Array.from({ length: 5 }, () => verifier.verify(forged)));
    expect(refusals.map((refusal) => refusal.status)).toEqual(Array(5).fill('rejected'));
    await expect(verifier.verify(forged)).rejects.toThrow('identity not verifiable');
  });

  it('one key per set of claims', () => {
    expect(identityClaimsKey({ kind: 'anonymous', clientIp: '1.2.3.4' })).not.toBe(identityClaimsKey({ kind: 'anonymous', clientIp: '1.2.3.5' }));
    expect(identityClaimsKey({ kind: 'user', userId: 'u', role: 'USER' })).not.toBe(identityClaimsKey({ kind: 'user', userId: 'u', role: 'ADMIN' }));
    expect(identityClaimsKey({ kind: 'user', userId: 'u', role: 'USER' })).toBe(identityClaimsKey({ kind: 'user', userId: 'u', role: 'USER' }));
  });
});
