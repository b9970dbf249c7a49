import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { GraphQLClient, GraphQLUnavailableError } from './graphql-client.js';
import { IDENTITY_HEADER } from './identity.js';

/** A target that answers each request with `respond` (status, body, or never); records what it received. */
async function target(respond: (req: IncomingMessage, n: number) => { status: number; body?: unknown } | 'hang') {
  const received: IncomingMessage[] = [];
  const server: Server = createServer((req, res) => {
    received.push(req);
    req.resume();
    req.on('end', () => {
      const answer = respond(req, received.length);
      if (answer === 'hang') return;
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body ?? {}));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`, received };
}
const servers: Server[] = [];
const clients: GraphQLClient[] = [];
const client = (url: string, overrides: Partial<ConstructorParameters<typeof GraphQLClient>[0]> = {}) => {
  const made = new GraphQLClient({ name: 'products', url, timeoutMs: 200, retries: 2, breakerResetMs: 60_000, ...overrides });
  clients.push(made);
  return made;
};
afterEach(() => {
  for (const made of clients.splice(0)) made.shutdown();
  for (const server of servers.splice(0)) server.closeAllConnections(), server.close();
});

describe('GraphQLClient', () => {
  it('sends the request id and the forwarded identity, and hands back the answer', async () => {
    const products = await target(() => ({ status: 200, body: { data: { ok: true } } }));
    const answer = await client(products.url).request<{ ok: boolean }>('{ ok }', {}, { requestId: 'req-1', identityToken: 'signed.by.gateway' });
    expect(answer.data?.ok).toBe(true);
    expect(products.received[0]?.headers['x-request-id']).toBe('req-1');
    expect(products.received[0]?.headers[IDENTITY_HEADER]).toBe('signed.by.gateway');
  });

  it('retries a query after a 5xx, `retries` times at most; never an operation that is not retryable', async () => {
    const flaky = await target((_req, n) => (n < 3 ? { status: 503 } : { status: 200, body: { data: { ok: true } } }));
    expect((await client(flaky.url).request('{ ok }', {})).data).toEqual({ ok: true });
    expect(flaky.received).toHaveLength(3);
    const down = await target(() => ({ status: 503 }));
    await expect(client(down.url).request('{ ok }', {})).rejects.toMatchObject({ reason: 'http_5xx' });
    expect(down.received).toHaveLength(3);
    const once = await target(() => ({ status: 503 }));
    await expect(client(once.url).request('mutation { go }', {}, { retryable: false })).rejects.toBeInstanceOf(GraphQLUnavailableError);
    expect(once.received).toHaveLength(1);
  });

  it('gives up at the timeout, and never attempts past the caller deadline', async () => {
    const hung = await target(() => 'hang');
    const started = Date.now();
    await expect(client(hung.url, { retries: 0 }).request('{ ok }', {})).rejects.toMatchObject({ reason: 'timeout' });
    expect(Date.now() - started).toBeLessThan(2000);
    // 50 ms left: the one attempt is cut at the deadline, not at the 200 ms timeout, and no retry follows.
    const early = Date.now();
    await expect(client(hung.url).request('{ ok }', {}, { deadline: Date.now() + 50 })).rejects.toBeInstanceOf(GraphQLUnavailableError);
    expect(Date.now() - early).toBeLessThan(190);
    await expect(client(hung.url).request('{ ok }', {}, { deadline: Date.now() - 1 })).rejects.toMatchObject({ reason: 'deadline' });
  });

  it('opens its breaker when the target keeps failing, then fails fast without calling it', async () => {
    const down = await target(() => ({ status: 500 }));
    const breaking = client(down.url, { retries: 0 });
    for (let i = 0; i < 6; i++) await breaking.request('{ ok }', {}).catch(() => {});
    const calls = down.received.length;
    await expect(breaking.request('{ ok }', {})).rejects.toMatchObject({ reason: 'circuit_open' });
    expect(down.received).toHaveLength(calls);
  });

  it('an unreachable target is "unreachable"', async () => {
    await expect(client('http://127.0.0.1:1/graphql', { retries: 0 }).request('{ ok }', {})).rejects.toMatchObject({ reason: 'unreachable' });
  });
});
