// For bench:cache: the least any cache that is never stale across replicas must do per hit, as a
// bare node:http server: take the client's budget (the gateway's own Lua script) and read the entry
// from Redis, pipelined in one round trip, then send the bytes. No GraphQL, no hashing, no headers
// beyond the minimum. Prints its port. Env: REDIS_URL, PREFIX (its keys), BODY (the bytes).
import { createServer } from 'node:http';
import { closeRedisClient, createRedisClient } from '@commerce/platform/redis-client';
import { budgetStoreScripts, RedisBudgetStore } from '@commerce/gateway/budget-store';

const client = createRedisClient(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { scripts: budgetStoreScripts });
await new Promise<void>((resolve) => (client.isReady ? resolve() : client.once('ready', () => resolve())));
const prefix = process.env.PREFIX ?? `floor-${process.pid}`;
const budgets = new RedisBudgetStore(client, prefix);
const entry = `${prefix}:entry`;
await client.set(entry, process.env.BODY ?? '', { PX: 3_600_000 });
const limit = { capacity: 1e12, refillPerSecond: 1e9 };
const server = createServer((req, res) => {
  req.resume();
  req.on('end', async () => {
    const [, body] = await Promise.all([budgets.take(`ip:${req.socket.remoteAddress}`, 3, limit), client.get(entry)]);
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body ?? '') }).end(body);
  });
});
server.keepAliveTimeout = 5000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as { port: number }).port}\n`));
process.once('SIGTERM', () => server.close(() => void closeRedisClient(client).then(() => process.exit(0))));
