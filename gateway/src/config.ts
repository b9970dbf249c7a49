// The gateway configuration: one typed object built from the environment at start.
import { isAbsolute, join } from 'node:path';
import { ConfigError, logLevel, nodeEnv, parseEnv, port } from '@commerce/shared/env';
import { z } from 'zod';

export interface GatewayConfig {
  nodeEnv: 'development' | 'test' | 'production';
  host: string;
  port: number;
  logLevel: z.infer<typeof logLevel>;
  /** The supergraph file the gateway runs from (it never needs the subgraphs up to start). */
  supergraphPath: string;
  /** URL overrides by graph name in upper case, from SUBGRAPH_URL_<NAME>. */
  subgraphUrls: Record<string, string>;
}

const schema = z.object({
  NODE_ENV: nodeEnv,
  HOST: z.string().min(1).default('0.0.0.0'),
  PORT: port.default(4000),
  LOG_LEVEL: logLevel,
  SUPERGRAPH_PATH: z.string().min(1).default('schema/supergraph.graphql'),
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
  };
}
