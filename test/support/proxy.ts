// An HTTP proxy in front of a subgraph, for a gateway replica pointed at it: it records what
// passed each way (what the subgraph was sent, what it answered) and can hold answers back.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Exchange {
  /** The headers the gateway sent to the subgraph. */
  sent: IncomingHttpHeaders;
  /** The headers the subgraph answered with. */
  answered: Headers;
}

export interface SubgraphProxy {
  url: string;
  /** Every request answered so far, in order. */
  exchanges: Exchange[];
  /** Answers read from the subgraph and being held back right now. */
  held(): number;
  /** Holds every answer this long before passing it on. */
  setDelay(ms: number): void;
  close(): Promise<void>;
}

const HOP_BY_HOP = ['host', 'content-length', 'connection'];

export async function subgraphProxy(target: string): Promise<SubgraphProxy> {
  let delay = 0;
  let held = 0;
  const exchanges: Exchange[] = [];
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const headers = Object.fromEntries(Object.entries(req.headers).filter(([key]) => !HOP_BY_HOP.includes(key))) as Record<string, string>;
    const upstream = await fetch(target, { method: req.method, headers, body: Buffer.concat(chunks) });
    const body = Buffer.from(await upstream.arrayBuffer());
    if (delay > 0) {
      held += 1;
      await sleep(delay);
      held -= 1;
    }
    exchanges.push({ sent: req.headers, answered: upstream.headers });
    res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json', 'cache-control': upstream.headers.get('cache-control') ?? '' });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    exchanges,
    held: () => held,
    setDelay: (ms) => {
      delay = ms;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
