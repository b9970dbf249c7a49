// The gateway configuration: one typed object built from the environment at start.
import { isAbsolute, join } from 'node:path';
import { type CacheConfig, cacheConfigOf, cacheEnv } from '@commerce/platform/cache-config';
import { booleanFlag, ConfigError, logBufferBytes, logLevel, nodeEnv, parseEnv, port, type ProcessConfig } from '@commerce/platform/env';
import { SHUTDOWN_FITS_ISSUE, type ShutdownConfig, shutdownConfigOf, shutdownEnv, shutdownFits } from '@commerce/platform/shutdown';
import { findRuntimeFile } from '@commerce/platform/runtime-files';
import { type TracingConfig, tracingConfig, tracingEnv } from '@commerce/platform/tracing';
import { z } from 'zod';
import type { BudgetLimits } from './limits/client-budget.js';
import type { IntrospectionPolicy } from './auth/introspection-policy.js';
import { QUERY_LIMIT_DEFAULTS, type QueryLimits } from './limits/query-limits.js';
import { EDGE_DEFAULTS, type EdgeConfig } from '@commerce/platform/service';
import type { ResilienceConfig } from './federation/resilient-source.js';
import type { PersistedDocumentsConfig } from './cache/persisted-documents.js';

export interface GatewayConfig extends ProcessConfig {
  /** The supergraph file the gateway runs from (it never needs the subgraphs up to start). */
  supergraphPath: string;
  /** URL overrides by graph name in upper case, from SUBGRAPH_URL_<NAME>. */
  subgraphUrls: Record<string, string>;
  auth: AuthConfig;
  resilience: ResilienceConfig;
  /** Keep-alive connections the gateway keeps per subgraph (SUBGRAPH_CONNECTIONS); more fetches at once wait for one. */
  subgraphConnections: number;
  /** Identical queries and subgraph fetches in flight share one execution / one request (DEDUP_ENABLED). */
  dedup: boolean;
  /**
   * @apollo/gateway's own usage metrics, which it sends to Apollo (usage-reporting.api.apollographql.com)
   * unless APOLLO_TELEMETRY_DISABLED is set: off unless APOLLO_TELEMETRY_DISABLED=false.
   */
  apolloTelemetryDisabled: boolean;
  cache: CacheConfig;
  /** The max-age browsers and CDNs are told for cacheable responses (they cannot hear purges). */
  httpCacheMaxAgeSeconds: number;
  /** Per-client budgets; null when RATE_LIMIT_ENABLED=false. */
  budgets: BudgetLimits | null;
  /** Static limits checked before execution (QUERY_LIMIT_EXCEEDED). */
  queryLimits: QueryLimits & { cost: number };
  /** Trusted documents: the manifest of our clients' operations and what runs besides them. */
  persistedDocuments: PersistedDocumentsConfig;
  http: EdgeConfig;
  introspection: IntrospectionPolicy;
  /** GraphiQL at /graphiql, its assets served by the gateway (http/explorer.ts). */
  explorerEnabled: boolean;
  /** How many proxies in front of the gateway append to X-Forwarded-For (0: use the peer address). */
  trustProxyHops: number;
  /** OpenTelemetry export; null (the default) loads no tracing code at all. */
  tracing: TracingConfig | null;
  /** Processes serving the port (GATEWAY_WORKERS): 1 runs in this process, more as a node:cluster (workers.ts). */
  workers: number;
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

/** "capacity,refill per second", e.g. "3000,50": a bucket of 3,000 cost points refilling 50 a second. */
const bucket = z
  .string()
  .regex(/^\s*\d+\s*,\s*\d+(\.\d+)?\s*$/, 'must be "capacity,refill per second", e.g. "3000,50"')
  .transform((text) => {
    const [capacity, refillPerSecond] = text.split(',').map(Number) as [number, number];
    return { capacity, refillPerSecond };
  })
  .refine((limit) => limit.capacity >= 1 && limit.refillPerSecond > 0, 'capacity must be at least 1 and the refill above 0');

/** Defaults (README "Limits"): browsing freely and a few orders a minute fit easily; crawling does not. */
export const BUDGET_DEFAULTS = { anonymous: '3000,50', user: '10000,100', admin: '250000,2500', partner: '50000,500' } as const;

/** What a refused request (a limit, a parse or validation error) takes from its client's budget. */
export const REFUSAL_COST_DEFAULT = 10;

/** The most any one operation may cost (a 50 × 50 nested page of users' orders with their lines and totals costs 82,651). */
export const MAX_COST_DEFAULT = 100_000;

/** Why COST_WEIGHTS is refused: what it did is written in the schema now. */
export const COST_WEIGHTS_REMOVED =
  'no longer read: weights are @cost and @listSize directives in the subgraph SDLs (schema/*.graphql, then npm run compose), see docs/adr/0006-cost-directives.md; remove the setting';

const limit = (fallback: number, max: number) => z.coerce.number().int().min(1).max(max).default(fallback);
const origins = z
  .string()
  .transform((text) => text.split(',').map((origin) => origin.trim()).filter(Boolean))
  .pipe(z.array(z.union([z.literal('*'), z.url({ protocol: /^https?$/ }).transform((url) => new URL(url).origin)])));

/**
 * Every variable the gateway reads but SUBGRAPH_URL_<NAME> (a family, see SUBGRAPH_URL_VARIABLE),
 * for deployment files to be checked against (test/deploy.test.ts).
 */
export const gatewayEnvSchema = z.object({
  NODE_ENV: nodeEnv,
  HOST: z.string().min(1).default('0.0.0.0'),
  PORT: port.default(4000),
  LOG_LEVEL: logLevel,
  LOG_BUFFER_BYTES: logBufferBytes,
  ...shutdownEnv,
  SUPERGRAPH_PATH: z.string().min(1).optional(),
  DATA_DIR: z.string().min(1).default('.data'),
  JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  JWKS_URL: z.url({ protocol: /^https?$/ }).optional(),
  JWT_ISSUER: z.string().min(1).default(AUTH_DEFAULTS.issuer),
  JWT_AUDIENCE: z.string().min(1).default(AUTH_DEFAULTS.audience),
  IDENTITY_PRIVATE_KEY: z.string().min(1).optional(),
  API_KEY_CACHE_SECONDS: z.coerce.number().int().min(0).max(3600).default(30),
  API_KEY_GRAPH: z.string().min(1).default('users'),
  SUBGRAPH_TIMEOUT_MS: z.coerce.number().int().min(10).max(120_000).default(3000),
  SUBGRAPH_MUTATION_TIMEOUT_MS: z.coerce.number().int().min(10).max(120_000).default(10_000),
  SUBGRAPH_MUTATION_GRACE_MS: z.coerce.number().int().min(0).max(120_000).default(20_000),
  SUBGRAPH_RETRIES: z.coerce.number().int().min(0).max(5).default(2),
  BREAKER_RESET_MS: z.coerce.number().int().min(100).max(600_000).default(2000),
  SUBGRAPH_CONNECTIONS: z.coerce.number().int().min(1).max(10_000).default(128),
  DEDUP_ENABLED: booleanFlag(true),
  APOLLO_TELEMETRY_DISABLED: booleanFlag(true),
  HTTP_CACHE_MAX_AGE_SECONDS: z.coerce.number().int().min(0).max(86_400).default(0),
  RATE_LIMIT_ENABLED: booleanFlag(true),
  RATE_LIMIT_ANONYMOUS: bucket.prefault(BUDGET_DEFAULTS.anonymous),
  RATE_LIMIT_USER: bucket.prefault(BUDGET_DEFAULTS.user),
  RATE_LIMIT_PARTNER: bucket.prefault(BUDGET_DEFAULTS.partner),
  RATE_LIMIT_ADMIN: bucket.prefault(BUDGET_DEFAULTS.admin),
  QUERY_MAX_COST: limit(MAX_COST_DEFAULT, 10_000_000),
  QUERY_MAX_DEPTH: limit(QUERY_LIMIT_DEFAULTS.depth, 1000),
  QUERY_MAX_ALIASES: limit(QUERY_LIMIT_DEFAULTS.aliases, 10_000),
  QUERY_MAX_ROOT_FIELDS: limit(QUERY_LIMIT_DEFAULTS.rootFields, 1000),
  QUERY_MAX_DIRECTIVES: limit(QUERY_LIMIT_DEFAULTS.directives, 10_000),
  QUERY_MAX_DIRECTIVES_PER_FIELD: limit(QUERY_LIMIT_DEFAULTS.directivesPerNode, 100),
  QUERY_MAX_TOKENS: limit(QUERY_LIMIT_DEFAULTS.tokens, 1_000_000),
  QUERY_MAX_EXPANDED_FIELDS: limit(QUERY_LIMIT_DEFAULTS.expandedFields, 1_000_000),
  QUERY_MAX_OVERLAPPING_FIELDS: limit(QUERY_LIMIT_DEFAULTS.overlappingFields, 100_000_000),
  QUERY_MAX_OPERATIONS: limit(QUERY_LIMIT_DEFAULTS.operations, 10_000),
  QUERY_MAX_VARIABLES: limit(QUERY_LIMIT_DEFAULTS.variables, 10_000),
  RATE_LIMIT_REFUSAL_COST: z.coerce.number().int().min(0).max(1_000_000).default(REFUSAL_COST_DEFAULT),
  HTTP_BODY_LIMIT_BYTES: limit(EDGE_DEFAULTS.bodyLimitBytes, 100 * 1024 * 1024),
  HTTP_HEADERS_TIMEOUT_MS: limit(EDGE_DEFAULTS.headersTimeoutMs, 600_000),
  HTTP_REQUEST_TIMEOUT_MS: limit(EDGE_DEFAULTS.requestTimeoutMs, 3_600_000),
  CORS_ORIGINS: origins.optional(),
  INTROSPECTION: z.enum(['on', 'authenticated', 'off']).optional(),
  EXPLORER_ENABLED: z.enum(['true', 'false', '1', '0']).optional(),
  RATE_LIMIT_TIERS: z
    .string()
    .transform((text, ctx) => {
      try {
        const parsed = JSON.parse(text) as Record<string, string>;
        return Object.fromEntries(Object.entries(parsed).map(([tier, value]) => [tier, bucket.parse(value)]));
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be JSON like {"gold":"100000,1000"} (tier: "capacity,refill per second")' });
        return z.NEVER;
      }
    })
    .optional(),
  // Field weights moved into the schema; a deployment still setting them would silently lose them.
  COST_WEIGHTS: z.string().refine(() => false, COST_WEIGHTS_REMOVED).optional(),
  TRUST_PROXY_HOPS: z.coerce.number().int().min(0).max(10).default(0),
  PERSISTED_DOCUMENTS: z.enum(['off', 'allow', 'require']).default('allow'),
  PERSISTED_DOCUMENTS_MANIFEST: z.string().min(1).optional(),
  GATEWAY_WORKERS: z.coerce.number().int().min(1).max(64).default(1),
  ...cacheEnv,
  ...tracingEnv,
})
  .refine((env) => !(env.JWT_SECRET && env.JWKS_URL), { path: ['JWT_SECRET'], message: 'set JWT_SECRET or JWKS_URL, not both' })
  .refine((env) => env.NODE_ENV !== 'production' || env.JWT_SECRET || env.JWKS_URL, {
    path: ['JWT_SECRET'],
    message: 'JWT_SECRET or JWKS_URL is required when NODE_ENV=production',
  })
  .refine((env) => env.NODE_ENV !== 'production' || env.IDENTITY_PRIVATE_KEY, {
    path: ['IDENTITY_PRIVATE_KEY'],
    message: 'required when NODE_ENV=production (the Ed25519 key that signs identities for the subgraphs)',
  })
  .refine(shutdownFits, SHUTDOWN_FITS_ISSUE)
  // Each worker is a process of its own: budgets kept in memory would hand every client one per
  // worker, and a response cache in memory could not hear the other workers' purges.
  .refine((env) => env.GATEWAY_WORKERS === 1 || env.REDIS_URL || (!env.RATE_LIMIT_ENABLED && !env.CACHE_ENABLED), {
    path: ['GATEWAY_WORKERS'],
    message: 'more than 1 worker needs REDIS_URL (budgets and the response cache must be shared by the workers), or RATE_LIMIT_ENABLED=false and CACHE_ENABLED=false',
  });

const httpUrl = z.url({ protocol: /^https?$/ });

/** SUBGRAPH_URL_<NAME>: the URL of the supergraph's graph NAME (its name in upper case, see envName). */
export const SUBGRAPH_URL_VARIABLE = /^SUBGRAPH_URL_([A-Z0-9_]+)$/;

/**
 * The committed schema/supergraph.graphql, found from this module (the project root, or dist/ in the
 * compiled build), so a compiled gateway finds it whatever directory it is started from. A path
 * given in SUPERGRAPH_PATH is relative to the working directory.
 */
const defaultSupergraphPath = (cwd: string): string => findRuntimeFile(import.meta.dirname, join('schema', 'supergraph.graphql')) ?? join(cwd, 'schema', 'supergraph.graphql');

/** The committed clients/persisted-query-manifest.json, found as the supergraph is; null when it is not there. */
export const DEFAULT_MANIFEST = join('clients', 'persisted-query-manifest.json');
const defaultManifestPath = (): string | null => findRuntimeFile(import.meta.dirname, DEFAULT_MANIFEST);

export function gatewayConfig(env: Record<string, string | undefined> = process.env, cwd = process.cwd()): GatewayConfig {
  const problems: string[] = [];
  let parsed: z.infer<typeof gatewayEnvSchema> | undefined;
  try {
    parsed = parseEnv(gatewayEnvSchema, env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems);
  }
  const subgraphUrls: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    const match = SUBGRAPH_URL_VARIABLE.exec(key);
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
    logBufferBytes: parsed.LOG_BUFFER_BYTES,
    shutdown: shutdownConfigOf(parsed),
    supergraphPath: parsed.SUPERGRAPH_PATH === undefined ? defaultSupergraphPath(cwd) : isAbsolute(parsed.SUPERGRAPH_PATH) ? parsed.SUPERGRAPH_PATH : join(cwd, parsed.SUPERGRAPH_PATH),
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
    resilience: { timeoutMs: parsed.SUBGRAPH_TIMEOUT_MS, mutationTimeoutMs: parsed.SUBGRAPH_MUTATION_TIMEOUT_MS, mutationGraceMs: parsed.SUBGRAPH_MUTATION_GRACE_MS, retries: parsed.SUBGRAPH_RETRIES, breakerResetMs: parsed.BREAKER_RESET_MS },
    subgraphConnections: parsed.SUBGRAPH_CONNECTIONS,
    dedup: parsed.DEDUP_ENABLED,
    apolloTelemetryDisabled: parsed.APOLLO_TELEMETRY_DISABLED,
    cache: cacheConfigOf(parsed),
    httpCacheMaxAgeSeconds: parsed.HTTP_CACHE_MAX_AGE_SECONDS,
    budgets: parsed.RATE_LIMIT_ENABLED
      ? { anonymous: parsed.RATE_LIMIT_ANONYMOUS, user: parsed.RATE_LIMIT_USER, admin: parsed.RATE_LIMIT_ADMIN, partner: parsed.RATE_LIMIT_PARTNER, tiers: parsed.RATE_LIMIT_TIERS ?? {}, refusalCost: parsed.RATE_LIMIT_REFUSAL_COST }
      : null,
    queryLimits: {
      cost: parsed.QUERY_MAX_COST,
      depth: parsed.QUERY_MAX_DEPTH,
      aliases: parsed.QUERY_MAX_ALIASES,
      rootFields: parsed.QUERY_MAX_ROOT_FIELDS,
      directives: parsed.QUERY_MAX_DIRECTIVES,
      directivesPerNode: parsed.QUERY_MAX_DIRECTIVES_PER_FIELD,
      tokens: parsed.QUERY_MAX_TOKENS,
      expandedFields: parsed.QUERY_MAX_EXPANDED_FIELDS,
      overlappingFields: parsed.QUERY_MAX_OVERLAPPING_FIELDS,
      operations: parsed.QUERY_MAX_OPERATIONS,
      variables: parsed.QUERY_MAX_VARIABLES,
    },
    persistedDocuments: {
      mode: parsed.PERSISTED_DOCUMENTS,
      manifestPath: parsed.PERSISTED_DOCUMENTS_MANIFEST === undefined ? defaultManifestPath() : isAbsolute(parsed.PERSISTED_DOCUMENTS_MANIFEST) ? parsed.PERSISTED_DOCUMENTS_MANIFEST : join(cwd, parsed.PERSISTED_DOCUMENTS_MANIFEST),
    },
    http: {
      bodyLimitBytes: parsed.HTTP_BODY_LIMIT_BYTES,
      headersTimeoutMs: parsed.HTTP_HEADERS_TIMEOUT_MS,
      requestTimeoutMs: parsed.HTTP_REQUEST_TIMEOUT_MS,
      // Development: Apollo's hosted Sandbox and any local front end; production: only what is listed.
      corsOrigins: parsed.CORS_ORIGINS ?? (parsed.NODE_ENV === 'production' ? [] : ['https://studio.apollographql.com', 'http://localhost', 'http://127.0.0.1']),
    },
    introspection: parsed.INTROSPECTION ?? (parsed.NODE_ENV === 'production' ? 'authenticated' : 'on'),
    // Like introspection: open in development, off in production unless asked for.
    explorerEnabled: parsed.EXPLORER_ENABLED === undefined ? parsed.NODE_ENV !== 'production' : ['true', '1'].includes(parsed.EXPLORER_ENABLED),
    trustProxyHops: parsed.TRUST_PROXY_HOPS,
    tracing: tracingConfig(parsed),
    workers: parsed.GATEWAY_WORKERS,
  };
}
