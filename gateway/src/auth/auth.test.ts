import { afterEach, describe, expect, it, vi } from 'vitest';
import { Authenticator } from './auth.js';
import { signUserToken } from './user-tokens.js';
import { AUTH_DEFAULTS, type AuthConfig } from '../config.js';

const SECRET = 'a-secret-of-at-least-thirty-two-characters';
const config: AuthConfig = { userTokens: { kind: 'secret', secret: SECRET }, ...AUTH_DEFAULTS, identityPrivateKey: null, dataDir: '.data', apiKeyCacheSeconds: 30, apiKeyGraph: 'users' };
const USER = '6f1c2b6e-1d2a-4c3b-9e8f-0a1b2c3d4e5f';

describe('user tokens at the gateway', () => {
  afterEach(() => vi.useRealTimers());

  it('a token that verified is remembered, and still refused from its exp on; another token is verified on its own', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const authenticator = new Authenticator(config, { key: new TextEncoder().encode(SECRET), algorithms: ['HS256'] }, null);
    const token = await signUserToken(SECRET, { userId: USER, role: 'USER', ttlSeconds: 120 });
    const headers = { authorization: `Bearer ${token}` };
    expect(await authenticator.authenticate(headers)).toEqual({ kind: 'user', userId: USER, role: 'USER' });
    expect(await authenticator.authenticate(headers)).toEqual({ kind: 'user', userId: USER, role: 'USER' });
    const other = await signUserToken('another-secret-of-thirty-two-characters!', { userId: USER, role: 'ADMIN' });
    await expect(authenticator.authenticate({ authorization: `Bearer ${other}` })).rejects.toThrow('token not valid');
    vi.setSystemTime(Date.now() + 120_000);
    await expect(authenticator.authenticate(headers)).rejects.toThrow('token expired');
  });

  it('concurrent requests with one token share its verification; a refusal is shared, not remembered', async () => {
    const authenticator = new Authenticator(config, { key: new TextEncoder().encode(SECRET), algorithms: ['HS256'] }, null);
    const token = await signUserToken(SECRET, { userId: USER, role: 'USER', ttlSeconds: 120 });
    const identities = await Promise.all(Array.from({ length: 50 }, () => authenticator.authenticate({ authorization: `Bearer ${token}` })));
    // One verification made one (frozen) identity; fifty would have made fifty objects.
    expect(new Set(identities).size).toBe(1);
    expect(identities[0]).toEqual({ kind: 'user', userId: USER, role: 'USER' });
    const other = await signUserToken('another-secret-of-thirty-two-characters!', { userId: USER, role: 'USER' });
    const refusals = await Promise.allSettled(Array.from({ length: 5 }, () => authenticator.authenticate({ authorization: `Bearer ${other}` })));
    expect(refusals.map((refusal) => refusal.status)).toEqual(Array(5).fill('rejected'));
    await expect(authenticator.authenticate({ authorization: `Bearer ${other}` })).rejects.toThrow('token not valid');
  });
});
