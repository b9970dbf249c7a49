// Authentication at the gateway, identity the subgraphs can trust, and authorization where the
// data lives — each attack tried for real against the running graph.
import { generateKeyPairSync } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { userIdFor } from '@commerce/db/ids';
import { generateSeed } from '@commerce/db/seed-data';
import { signUserToken } from '@commerce/gateway/user-tokens';
import { IDENTITY_HEADER, identityPrivateKey, signIdentity } from '@commerce/platform/identity';
import { postGraphQL, startGraph, type TestGraph } from './support/graph.js';

const template = inject('templateDatabase');
const ALICE = userIdFor('alice@example.com');
const BOB = userIdFor('bob@example.com');
const aliceOrder = generateSeed().orders.find((o) => o.userId === ALICE)!;
const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

const ME = '{ me { id name email orders(first: 2) { totalCount edges { node { id } } } } }';
const ALICE_PRIVATE = `{ user(id: "${ALICE}") { name email orders(first: 3) { totalCount } } }`;

describe.skipIf(!template)('identity and authorization', () => {
  let graph: TestGraph;
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const expect401 = async (headers: Record<string, string>, reason?: RegExp) => {
    const result = await graph.query(ME, undefined, headers);
    expect(result.status).toBe(401);
    expect(result.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    if (reason) expect(result.errors?.[0]?.message).toMatch(reason);
    expect(result.data ?? null).toBeNull();
  };

  beforeAll(async () => {
    graph = await startGraph({ kind: 'postgres', template: template as string }, { gatewayEnv: { API_KEY_CACHE_SECONDS: '0' } });
  });
  afterAll(() => graph?.stop());

  describe('user tokens at the gateway', () => {
    it('a valid token: me is the caller, with their email and orders', async () => {
      const result = await graph.query(ME, undefined, await graph.as('alice@example.com'));
      expect(result.status).toBe(200);
      expect(result.errors).toBeUndefined();
      expect(result.data?.me).toMatchObject({ id: ALICE, name: 'Alice Example', email: 'alice@example.com', orders: { totalCount: 40 } });
    });

    it('no credentials: anonymous, me is null', async () => {
      const result = await graph.query('{ me { id } products(first: 1) { totalCount } }');
      expect(result.status).toBe(200);
      expect(result.data).toEqual({ me: null, products: { totalCount: 500 } });
    });

    it('an expired token is 401', async () => expect401(bearer(await graph.tokenFor('alice@example.com', { ttlSeconds: -10 })), /expired/));

    it('a token signed with another secret is 401', async () =>
      expect401(bearer(await signUserToken('another-secret-that-is-long-enough-1234', { userId: ALICE, role: 'ADMIN' }))));

    it('alg: none is 401', async () => {
      const token = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: ALICE, role: 'ADMIN', iss: 'commerce-auth', aud: 'commerce-graph', exp: Math.floor(Date.now() / 1000) + 600 })}.`;
      await expect401(bearer(token));
    });

    it('a token for another audience or issuer is 401', async () => {
      await expect401(bearer(await signUserToken(graph.keys.jwtSecret, { userId: ALICE, role: 'USER', audience: 'some-other-api' })), /aud/);
      await expect401(bearer(await signUserToken(graph.keys.jwtSecret, { userId: ALICE, role: 'USER', issuer: 'https://evil.example' })), /iss/);
    });

    it('another algorithm with the right secret, a future nbf, a bad subject or role are 401', async () => {
      const secret = new TextEncoder().encode(graph.keys.jwtSecret);
      const base = () => new SignJWT({ role: 'ADMIN' }).setSubject(ALICE).setIssuer('commerce-auth').setAudience('commerce-graph').setExpirationTime('10m');
      await expect401(bearer(await base().setProtectedHeader({ alg: 'HS512' }).sign(secret)));
      await expect401(bearer(await base().setProtectedHeader({ alg: 'HS256' }).setNotBefore('5m').sign(secret)), /nbf/);
      await expect401(bearer(await base().setProtectedHeader({ alg: 'HS256' }).setSubject('admin').sign(secret)), /subject/);
      const superuser = new SignJWT({ role: 'SUPERUSER' }).setSubject(ALICE).setIssuer('commerce-auth').setAudience('commerce-graph').setExpirationTime('10m');
      await expect401(bearer(await superuser.setProtectedHeader({ alg: 'HS256' }).sign(secret)), /role/);
    });

    it('a malformed Authorization header is 401, never anonymous', async () => {
      await expect401({ authorization: 'Basic YWxpY2U6c2VjcmV0' });
      await expect401({ authorization: 'Bearer' });
      await expect401({ authorization: 'Bearer not-a-jwt' });
    });
  });

  describe('authorization in the subgraphs', () => {
    it("Bob cannot read Alice's email or orders: FORBIDDEN at those paths, the rest served", async () => {
      const result = await graph.query(ALICE_PRIVATE, undefined, await graph.as('bob@example.com'));
      expect(result.status).toBe(200);
      expect(result.data).toEqual({ user: { name: 'Alice Example', email: null, orders: null } });
      const byPath = Object.fromEntries(result.errors!.map((e) => [e.path!.join('.'), e.extensions?.code]));
      expect(byPath).toEqual({ 'user.email': 'FORBIDDEN', 'user.orders': 'FORBIDDEN' });
    });

    it('anonymous callers get UNAUTHENTICATED at the same paths', async () => {
      const result = await graph.query(ALICE_PRIVATE);
      expect(result.data).toEqual({ user: { name: 'Alice Example', email: null, orders: null } });
      expect(result.errors?.map((e) => e.extensions?.code)).toEqual(['UNAUTHENTICATED', 'UNAUTHENTICATED']);
    });

    it("an order is its owner's and the admins'", async () => {
      const query = `{ order(id: "${aliceOrder.id}") { id status user { name } } }`;
      const bob = await graph.query(query, undefined, await graph.as('bob@example.com'));
      expect(bob.data).toEqual({ order: null });
      expect(bob.errors?.[0]).toMatchObject({ path: ['order'], extensions: { code: 'FORBIDDEN' } });
      const alice = await graph.query(query, undefined, await graph.as('alice@example.com'));
      expect(alice.data?.order).toMatchObject({ id: aliceOrder.id, user: { name: 'Alice Example' } });
      const admin = await graph.query(query, undefined, await graph.as('admin@example.com'));
      expect(admin.errors).toBeUndefined();
      expect(admin.data?.order.id).toBe(aliceOrder.id);
    });

    it('an admin reads everyone: the user list, emails and orders', async () => {
      const result = await graph.query('{ users(first: 3) { totalCount edges { node { email orders(first: 1) { totalCount } } } } }', undefined, await graph.as('admin@example.com'));
      expect(result.errors).toBeUndefined();
      expect(result.data?.users.totalCount).toBe(1000);
      expect(result.data?.users.edges.map((e: any) => e.node.email)).toEqual(['admin@example.com', 'alice@example.com', 'bob@example.com']);
      expect(result.data?.users.edges[1].node.orders.totalCount).toBe(40);
    });

    it('the user list is for admins only', async () => {
      const bob = await graph.query('{ users(first: 1) { totalCount } }', undefined, await graph.as('bob@example.com'));
      expect(bob).toMatchObject({ status: 200, data: { users: null } });
      expect(bob.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      const anonymous = await graph.query('{ users(first: 1) { totalCount } }');
      expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    });
  });

  describe('straight to a subgraph, around the gateway', () => {
    const direct = (headers: Record<string, string>) => postGraphQL(graph.subgraphUrls.users, `{ user(id: "${ALICE}") { name email } }`, undefined, headers);

    it('an identity signed with any key but the gateway\'s is 401', async () => {
      const { privateKey } = generateKeyPairSync('ed25519');
      const forged = await signIdentity(privateKey, { kind: 'user', userId: ALICE, role: 'ADMIN' });
      const result = await direct({ [IDENTITY_HEADER]: forged });
      expect(result.status).toBe(401);
      expect(result.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect(result.data ?? null).toBeNull();
    });

    it('an expired or garbled identity is 401', async () => {
      const key = identityPrivateKey(graph.keys.identityPrivateKey);
      const expired = await new SignJWT({ knd: 'user', userId: ALICE, role: 'ADMIN' })
        .setProtectedHeader({ alg: 'EdDSA' }).setIssuer('commerce-gateway').setAudience('commerce-subgraphs')
        .setIssuedAt(Math.floor(Date.now() / 1000) - 600).setExpirationTime(Math.floor(Date.now() / 1000) - 300).sign(key);
      expect((await direct({ [IDENTITY_HEADER]: expired })).status).toBe(401);
      expect((await direct({ [IDENTITY_HEADER]: 'garbage' })).status).toBe(401);
      // A user JWT (what clients hold) is not an identity either.
      expect((await direct({ [IDENTITY_HEADER]: await graph.tokenFor('admin@example.com') })).status).toBe(401);
    });

    it('no identity is anonymous: private fields stay closed', async () => {
      const result = await direct({ authorization: `Bearer ${await graph.tokenFor('admin@example.com')}` });
      expect(result.status).toBe(200);
      expect(result.data).toEqual({ user: { name: 'Alice Example', email: null } });
      expect(result.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    });

    it('an identity signed with the gateway\'s key is honoured (the checks above are not vacuous)', async () => {
      const genuine = await signIdentity(identityPrivateKey(graph.keys.identityPrivateKey), { kind: 'user', userId: BOB, role: 'USER' });
      const asBob = await direct({ [IDENTITY_HEADER]: genuine });
      expect(asBob.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      const asAlice = await direct({ [IDENTITY_HEADER]: await signIdentity(identityPrivateKey(graph.keys.identityPrivateKey), { kind: 'user', userId: ALICE, role: 'USER' }) });
      expect(asAlice.data).toEqual({ user: { name: 'Alice Example', email: 'alice@example.com' } });
    });
  });

  describe('partner API keys', () => {
    const admin = () => graph.as('admin@example.com');
    const create = async (name: string) => {
      const result = await graph.query('mutation ($input: CreateApiClientInput!) { createApiClient(input: $input) { apiKey apiClient { name tier revoked } userErrors { field code } } }', { input: { name, tier: 'partner' } }, await admin());
      expect(result.errors).toBeUndefined();
      return result.data?.createApiClient;
    };

    it('a new key works, is shown once, and a revoked key is 401', async () => {
      const created = await create('acme');
      expect(created.apiClient).toEqual({ name: 'acme', tier: 'partner', revoked: false });
      expect(created.apiKey).toMatch(/^ck_[A-Za-z0-9_-]{32}$/);
      const asPartner = await graph.query('{ me { id } products(first: 2) { edges { node { id } } } }', undefined, { 'x-api-key': created.apiKey });
      expect(asPartner.status).toBe(200);
      expect(asPartner.data?.me).toBeNull();
      expect(asPartner.data?.products.edges).toHaveLength(2);
      // A partner is not a user: private user data stays closed.
      const privateData = await graph.query(ALICE_PRIVATE, undefined, { 'x-api-key': created.apiKey });
      expect(privateData.errors?.map((e) => e.extensions?.code)).toEqual(['UNAUTHENTICATED', 'UNAUTHENTICATED']);

      const taken = await create('acme');
      expect(taken.userErrors).toEqual([{ field: ['input', 'name'], code: 'TAKEN' }]);

      const revoked = await graph.query('mutation { revokeApiClient(name: "acme") { apiClient { revoked } userErrors { code } } }', undefined, await admin());
      expect(revoked.data?.revokeApiClient).toEqual({ apiClient: { revoked: true }, userErrors: [] });
      await expect401({ 'x-api-key': created.apiKey }, /revoked/);
    });

    it('an unknown or malformed key, or a key with a token, is 401', async () => {
      await expect401({ 'x-api-key': 'ck_thisKeyWasNeverIssuedByAnyoneAtAll' });
      await expect401({ 'x-api-key': 'short' });
      const created = await create('globex');
      await expect401({ 'x-api-key': created.apiKey, authorization: `Bearer ${await graph.tokenFor('alice@example.com')}` });
    });

    it('only admins manage keys, and the key lookup is not part of the public API', async () => {
      const bob = await graph.query('mutation { createApiClient(input: { name: "sneaky" }) { apiKey } }', undefined, await graph.as('bob@example.com'));
      expect(bob.data).toEqual({ createApiClient: null });
      expect(bob.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      const viaGateway = await graph.query('{ _apiClientByKey(key: "ck_x") { name } }', undefined, await admin());
      expect(viaGateway.status).toBe(400);
      expect(viaGateway.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      const directly = await postGraphQL(graph.subgraphUrls.users, '{ _apiClientByKey(key: "ck_thisKeyWasNeverIssuedByAnyoneAtAll") { name } }');
      expect(directly.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    });
  });
});
