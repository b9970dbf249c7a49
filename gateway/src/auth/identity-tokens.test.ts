import { generateKeyPairSync } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { decodeJwt } from 'jose';
import { IdentityTokens } from './identity-tokens.js';

const { privateKey } = generateKeyPairSync('ed25519');
const alice = { kind: 'user', userId: 'alice', role: 'USER' } as const;

describe('identity tokens for the subgraphs', () => {
  afterEach(() => vi.useRealTimers());

  it('one per caller, reused while enough of its minute is left, then signed again', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const tokens = new IdentityTokens(privateKey, 3000);
    const first = await tokens.tokenFor(alice);
    expect(await tokens.tokenFor({ ...alice })).toBe(first);
    expect(await tokens.tokenFor({ ...alice, role: 'ADMIN' })).not.toBe(first);
    expect(await tokens.tokenFor({ kind: 'anonymous', clientIp: '10.0.0.1' })).not.toBe(await tokens.tokenFor({ kind: 'anonymous', clientIp: '10.0.0.2' }));
    vi.setSystemTime(Date.now() + 35_000);
    expect(await tokens.tokenFor(alice)).toBe(first);
    vi.setSystemTime(Date.now() + 3000); // 38 s: less than 20 s + one fetch timeout would be left
    const next = await tokens.tokenFor(alice);
    expect(next).not.toBe(first);
    expect(decodeJwt(next).exp! * 1000 - Date.now()).toBeGreaterThan(59_000);
  });

  it('fetches so long that a reused token could expire during one: a new token every time', async () => {
    const tokens = new IdentityTokens(privateKey, 40_000);
    const first = await tokens.tokenFor(alice);
    await new Promise((resolve) => setTimeout(resolve, 1100)); // iat is in whole seconds
    expect(await tokens.tokenFor(alice)).not.toBe(first);
  });
});
