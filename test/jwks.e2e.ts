// User tokens from an external identity provider (JWKS_URL): RS256 and ES256 keys served by a local
// JWKS endpoint; algorithm confusion (the RSA public key used as an HS256 secret) must fail.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, exportSPKI, generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { userIdFor } from '@commerce/db/ids';
import { startGraph, type TestGraph } from './support/graph.js';

const template = inject('templateDatabase');
const ALICE = userIdFor('alice@example.com');

describe.skipIf(!template)('user tokens verified through JWKS_URL', () => {
  let graph: TestGraph;
  let jwks: Server;
  let rsa: Awaited<ReturnType<typeof generateKeyPair>>;
  let ec: Awaited<ReturnType<typeof generateKeyPair>>;
  const token = (alg: 'RS256' | 'ES256', key: Parameters<SignJWT['sign']>[0], kid: string) =>
    new SignJWT({ role: 'USER' }).setProtectedHeader({ alg, kid }).setSubject(ALICE).setIssuer('https://idp.example').setAudience('commerce-graph').setExpirationTime('5m').sign(key);
  const me = (jwt: string) => graph.query('{ me { name } }', undefined, { authorization: `Bearer ${jwt}` });

  beforeAll(async () => {
    rsa = await generateKeyPair('RS256', { extractable: true });
    ec = await generateKeyPair('ES256', { extractable: true });
    const keys: JWK[] = [
      { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' },
      { ...(await exportJWK(ec.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' },
    ];
    jwks = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys })));
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/.well-known/jwks.json`;
    graph = await startGraph({ kind: 'postgres', template: template as string }, { gatewayEnv: { JWT_SECRET: '', JWKS_URL: url, JWT_ISSUER: 'https://idp.example' } });
  });
  afterAll(async () => {
    await graph?.stop();
    jwks?.close();
  });

  it('accepts RS256 and ES256 tokens signed by the provider\'s keys', async () => {
    expect((await me(await token('RS256', rsa.privateKey, 'rsa-1'))).data).toEqual({ me: { name: 'Alice Example' } });
    expect((await me(await token('ES256', ec.privateKey, 'ec-1'))).data).toEqual({ me: { name: 'Alice Example' } });
  });

  it('refuses algorithm confusion: an HS256 token keyed with the RSA public key', async () => {
    const publicPem = await exportSPKI(rsa.publicKey);
    const confused = await new SignJWT({ role: 'ADMIN' }).setProtectedHeader({ alg: 'HS256', kid: 'rsa-1' }).setSubject(ALICE)
      .setIssuer('https://idp.example').setAudience('commerce-graph').setExpirationTime('5m').sign(new TextEncoder().encode(publicPem));
    const result = await me(confused);
    expect(result.status).toBe(401);
    expect(result.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('refuses a token signed by a key the provider does not publish', async () => {
    const stranger = await generateKeyPair('RS256');
    expect((await me(await token('RS256', stranger.privateKey, 'rsa-1'))).status).toBe(401);
    expect((await me(await token('RS256', stranger.privateKey, 'unknown-kid'))).status).toBe(401);
  });
});
