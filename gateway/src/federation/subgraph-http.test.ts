import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transportFailure } from '@commerce/platform/graphql-client';
import { SubgraphHttp } from './subgraph-http.js';

describe('the gateway\'s subgraph client', () => {
  let server: Server;
  let url: URL;
  const seen: Array<{ headers: IncomingHttpHeaders; body: string; socket: number }> = [];
  const sockets = new Map<unknown, number>();
  const http = new SubgraphHttp({ connections: 4 });

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        if (!sockets.has(req.socket)) sockets.set(req.socket, sockets.size);
        seen.push({ headers: req.headers, body, socket: sockets.get(req.socket)! });
        if (req.url === '/slow') return; // never answers
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=30, public' }).end('{"data":{"ok":true}}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = new URL(`http://127.0.0.1:${(server.address() as { port: number }).port}/graphql`);
  });
  afterAll(async () => {
    await http.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('posts the body as given, asks for no compression, and keeps the connection for the next fetch', async () => {
    const first = await http.post(url, { 'content-type': 'application/json', 'x-request-id': 'r1' }, '{"query":"{ ok }"}', 1000);
    await new Promise((resolve) => setTimeout(resolve, 10)); // the connection goes back to the pool once the answer is read
    const second = await http.post(url, { 'content-type': 'application/json' }, '{"query":"{ ok }"}', 1000);
    expect(first).toEqual({ status: 200, contentType: 'application/json', cacheControl: 'max-age=30, public', text: '{"data":{"ok":true}}' });
    expect(second.text).toBe(first.text);
    expect(seen[0]).toMatchObject({ body: '{"query":"{ ok }"}', headers: { 'x-request-id': 'r1' } });
    expect(seen[0]!.headers['accept-encoding']).toBeUndefined();
    expect(seen[1]!.socket).toBe(seen[0]!.socket);
  });

  it('gives up after its time with a TimeoutError ("timeout"), and an address nothing listens on is "unreachable"', async () => {
    const started = Date.now();
    const timedOut = await http.post(new URL('/slow', url), {}, '{}', 150).catch((error: unknown) => error);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(transportFailure(timedOut)).toBe('timeout');
    const refused = await http.post(new URL('http://127.0.0.1:1/graphql'), {}, '{}', 1000).catch((error: unknown) => error);
    expect(transportFailure(refused)).toBe('unreachable');
  });
});
