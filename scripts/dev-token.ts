// Development tokens for seeded users, without opening any database: a seeded user's id is
// derived from the email and their role is in the deterministic seed; the secret is JWT_SECRET or
// the development secret the graph generated under DATA_DIR (dev-keys.json, not a PGlite file).
import { generateSeed } from '@commerce/db/seed-data';
import { gatewayConfig } from '@commerce/gateway/config';
import { signUserToken } from '@commerce/gateway/user-tokens';
import { ConfigError, loadOrCreateDevKeys } from '@commerce/subgraph-kit';

export class UsageError extends Error {}

export async function devToken(email: string, ttlSeconds = 3600): Promise<string> {
  const config = gatewayConfig();
  if (config.nodeEnv === 'production') throw new UsageError('development tool: in production, tokens come from your identity provider');
  const { userTokens, issuer, audience, dataDir } = config.auth;
  if (userTokens.kind === 'jwks') throw new UsageError('JWKS_URL is set: tokens come from that identity provider, not from this tool');
  const user = generateSeed().users.find((candidate) => candidate.email === email.toLowerCase());
  if (!user) throw new UsageError(`${email} is not a seeded user (admin@example.com, alice@example.com, bob@example.com, user0001@example.com … user0997@example.com)`);
  const secret = userTokens.kind === 'secret' ? userTokens.secret : loadOrCreateDevKeys(dataDir).jwtSecret;
  return signUserToken(secret, { userId: user.id, role: user.role, ttlSeconds, issuer, audience });
}

/** Runs a CLI body, printing usage and configuration problems without a stack trace. */
export async function cli(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (error) {
    const known = error instanceof UsageError || error instanceof ConfigError;
    process.stderr.write(`${known ? (error as Error).message : (error as Error).stack ?? String(error)}\n`);
    process.exit(known ? 2 : 1);
  }
}
