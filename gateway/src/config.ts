// The gateway configuration: one typed object built from the environment at start.
import { isAbsolute, join } from 'node:path';
import { ConfigError, logLevel, nodeEnv, parseEnv, port } from '@commerce/shared/env';
import { z } from 'zod';
import type { ResilienceConfig } from './resilient-source.js';

export interface GatewayConfig {
  nodeEnv: 'development' | 'test' | 'production';
  host: string;
  port: number;
  logLevel: z.infer<typeof logLevel>;
  /** The supergraph file the gateway runs from (it never needs the subgraphs up to start). */
  supergraphPath: string;
  /** URL overrides by graph name in upper case, from SUBGRAPH_URL_<NAME>. */
  subgraphUrls: Record<string, string>;
  auth: AuthConfig;
  resilience: ResilienceConfig;
}

export interface AuthConfig {
  /** How user tokens are verified: an HS256 secret, a JWKS (RS256/ES256), or the development secret under dataDir. */
  userTokens: { kind: 'secret'; secret: string } | { kind: 'jwks'; url: string } | { kind: 'development' };
  issuer: string;
  audience: string;
  /** PEM (or base64 PEM) of the Ed25519 key that signs forwarded identities; null: the development key. */
  identityPrivateKey: string | null;
  /** Where the development keys live (embedded default only). */
  dataDir: string;
  /** How long a verified (or refused) API key is remembered. */
  apiKeyCacheSeconds: number;
  /** The graph that owns API clients (asked to verify X-API-Key). */
  apiKeyGraph: string;
}

export const AUTH_DEFAULTS = { issuer: 'commerce-auth', audience: 'commerce-graph' } as const;

const schema = z.object({
  NODE_ENV: nodeEnv,
  HOST: z.string().min(1).default('0.0.0.0'),
  PORT: port.default(4000),
  LOG_LEVEL: logLevel,
  SUPERGRAPH_PATH: z.string().min(1).default('schema/supergraph.graphql'),
  DATA_DIR: z.string().min(1).default('.data'),
  JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  JWKS_URL: z.url({ protocol: /^https?$/ }).optional(),
  JWT_ISSUER: z.string().min(1).default(AUTH_DEFAULTS.issuer),
  JWT_AUDIENCE: z.string().min(1).default(AUTH_DEFAULTS.audience),
  IDENTITY_PRIVATE_KEY: z.string().min(1).optional(),
  API_KEY_CACHE_SECONDS: z.coerce.number().int().min(0).max(3600).default(30),
  API_KEY_GRAPH: z.string().min(1).default('users'),
  SUBGRAPH_TIMEOUT_MS: z.coerce.number().int().min(10).max(120_000).default(3000),
  SUBGRAPH_RETRIES: z.coerce.number().int().min(0).max(5).default(2),
  BREAKER_RESET_MS: z.coerce.number().int().min(100).max(600_000).default(2000),
})
  .refine((env) => !(env.JWT_SECRET && env.JWKS_URL), { path: ['JWT_SECRET'], message: 'set JWT_SECRET or JWKS_URL, not both' })
  .refine((env) => env.NODE_ENV !== 'production' || env.JWT_SECRET || env.JWKS_URL, {
    path: ['JWT_SECRET'],
    message: 'JWT_SECRET or JWKS_URL is required when NODE_ENV=production',
  })
  .refine((env) => env.NODE_ENV !== 'production' || env.IDENTITY_PRIVATE_KEY, {
    path: ['IDENTITY_PRIVATE_KEY'],
    message: 'required when NODE_ENV=production (the Ed25519 key that signs identities for the subgraphs)',
  });

const httpUrl = z.url({ protocol: /^https?$/ });

export function gatewayConfig(env: Record<string, string | undefined> = process.env, cwd = process.cwd()): GatewayConfig {
  const problems: string[] = [];
  let parsed: z.infer<typeof schema> | undefined;
  try {
    parsed = parseEnv(schema, env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems);
  }
  const subgraphUrls: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    const match = /^SUBGRAPH_URL_([A-Z0-9_]+)$/.exec(key);
    if (!match || value === undefined) continue;
    if (httpUrl.safeParse(value).success) subgraphUrls[match[1] as string] = value;
    else problems.push(`${key}: must be an http(s) URL`);
  }
  if (problems.length > 0 || !parsed) throw new ConfigError(problems);
  return {
    nodeEnv: parsed.NODE_ENV,
    host: parsed.HOST,
    port: parsed.PORT,
    logLevel: parsed.LOG_LEVEL,
    supergraphPath: isAbsolute(parsed.SUPERGRAPH_PATH) ? parsed.SUPERGRAPH_PATH : join(cwd, parsed.SUPERGRAPH_PATH),
    subgraphUrls,
    auth: {
      userTokens: parsed.JWT_SECRET ? { kind: 'secret', secret: parsed.JWT_SECRET } : parsed.JWKS_URL ? { kind: 'jwks', url: parsed.JWKS_URL } : { kind: 'development' },
      issuer: parsed.JWT_ISSUER,
      audience: parsed.JWT_AUDIENCE,
      identityPrivateKey: parsed.IDENTITY_PRIVATE_KEY ?? null,
      dataDir: isAbsolute(parsed.DATA_DIR) ? parsed.DATA_DIR : join(cwd, parsed.DATA_DIR),
      apiKeyCacheSeconds: parsed.API_KEY_CACHE_SECONDS,
      apiKeyGraph: parsed.API_KEY_GRAPH,
    },
    resilience: { timeoutMs: parsed.SUBGRAPH_TIMEOUT_MS, retries: parsed.SUBGRAPH_RETRIES, breakerResetMs: parsed.BREAKER_RESET_MS },
  };
}
