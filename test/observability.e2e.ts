// Services as separate processes (npm run start:users / start:gateway), as operators run them:
// one request id followed through both processes' JSON logs; the other subgraphs are absent, so
// this also shows a gateway started without them serving what it can.
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { userIdFor } from '@commerce/db/ids';
import { postGraphQL } from './support/graph.js';
import { generateKeys } from '@commerce/harness/keys';
import { cloneDatabase } from './support/postgres.js';
import { freePort, run, type Run } from '@commerce/harness/processes';

const template = inject('templateDatabase');

describe.skipIf(!template)('separate processes: request ids in every log', () => {
  const processes: Run[] = [];
  let drop: () => Promise<void>;
  let gatewayPort: number;
  let usersPort: number;

  beforeAll(async () => {
    const clone = await cloneDatabase(template as string);
    drop = clone.drop;
    const keys = generateKeys();
    [gatewayPort, usersPort] = [await freePort(), await freePort()];
    const users = run('start:users', { DATABASE_URL: clone.url, PORT: String(usersPort), LOG_LEVEL: 'info', IDENTITY_PUBLIC_KEY: keys.identityPublicKey });
    processes.push(users);
    await users.ready;
    const gateway = run('start:gateway', {
      PORT: String(gatewayPort), LOG_LEVEL: 'info', JWT_SECRET: keys.jwtSecret, IDENTITY_PRIVATE_KEY: keys.identityPrivateKey,
      SUBGRAPH_URL_USERS: `http://127.0.0.1:${usersPort}/graphql`,
      SUBGRAPH_URL_PRODUCTS: 'http://127.0.0.1:9/graphql', SUBGRAPH_URL_ORDERS: 'http://127.0.0.1:9/graphql',
    });
    processes.push(gateway);
    await gateway.ready;
  });
  afterAll(async () => {
    for (const p of processes) p.kill('SIGKILL');
    await drop?.();
  });

  it('the request id given to the gateway appears in the gateway\'s and the subgraph\'s log lines', async () => {
    const requestId = `trace-${Date.now()}`;
    const result = await postGraphQL<any>(`http://127.0.0.1:${gatewayPort}/graphql`, `query WhoIsAlice { user(id: "${userIdFor('alice@example.com')}") { name orders(first: 1) { totalCount } } }`, undefined, { 'x-request-id': requestId });
    expect(result.data?.user.name).toBe('Alice Example');
    expect(result.errors?.[0]?.extensions?.code).toBe('SUBGRAPH_UNAVAILABLE'); // orders is not running
    expect(result.headers.get('x-request-id')).toBe(requestId);
    // The request lines are written as the services answer, so they may follow the response: wait for them.
    await vi.waitFor(
      () => {
        const [users, gateway] = processes.map((p) => p.stdout().split('\n').filter((line) => line.includes(requestId)).map((line) => JSON.parse(line)));
        expect(gateway).toContainEqual(expect.objectContaining({ service: 'gateway', requestId, msg: 'graphql request', operation: 'WhoIsAlice' }));
        expect(users).toContainEqual(expect.objectContaining({ service: 'users', requestId, msg: 'graphql request' }));
      },
      { timeout: 5000, interval: 20 },
    );
    expect(processes.map((p) => p.stdout()).join('\n')).not.toMatch(/eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\./); // no tokens in logs
  });
});
