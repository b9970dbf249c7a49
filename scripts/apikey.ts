// npm run -s apikey -- --name acme [--tier partner]   creates a partner API key and prints it once
// npm run -s apikey -- --revoke acme                  revokes it
// Talks to the running graph as the seeded admin (GATEWAY_URL, default http://localhost:4000/graphql).
import { parseArgs } from 'node:util';
import { cli, devToken, UsageError } from './dev-token.js';

const CREATE = 'mutation ($input: CreateApiClientInput!) { createApiClient(input: $input) { apiKey apiClient { name tier } userErrors { field message } } }';
const REVOKE = 'mutation ($name: String!) { revokeApiClient(name: $name) { apiClient { name revoked } userErrors { message } } }';

await cli(async () => {
  let values: { name?: string; tier?: string; revoke?: string };
  try {
    ({ values } = parseArgs({ options: { name: { type: 'string' }, tier: { type: 'string' }, revoke: { type: 'string' } } }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (Boolean(values.name) === Boolean(values.revoke)) throw new UsageError('usage: npm run -s apikey -- --name <name> [--tier <tier>] | --revoke <name>');
  const url = process.env.GATEWAY_URL ?? 'http://localhost:4000/graphql';
  const [query, variables] = values.name ? [CREATE, { input: { name: values.name, tier: values.tier ?? 'partner' } }] : [REVOKE, { name: values.revoke }];
  let body: { data?: Record<string, { apiKey?: string; apiClient: unknown; userErrors: Array<{ message: string; field?: string[] }> } | null>; errors?: Array<{ message: string }> };
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await devToken('admin@example.com', 60)}` },
      body: JSON.stringify({ query, variables }),
    });
    body = (await response.json()) as typeof body;
  } catch (error) {
    throw new UsageError(`cannot reach the graph at ${url} (${(error as Error).message}); start it with npm start, or set GATEWAY_URL`);
  }
  const payload = Object.values(body.data ?? {})[0];
  if (body.errors || !payload) throw new UsageError(body.errors?.map((e) => e.message).join('; ') ?? 'no answer');
  if (payload.userErrors.length > 0) throw new UsageError(payload.userErrors.map((e) => `${e.field?.join('.') ?? ''} ${e.message}`.trim()).join('; '));
  process.stdout.write(values.name ? `${payload.apiKey}\n` : `revoked ${values.revoke}\n`);
});
