// Configuration is read once, validated and typed; a bad environment prints every problem and exits 1.
import { z } from 'zod';
import type { ShutdownConfig } from './shutdown.js';
import { LOG_BUFFER_DEFAULT_BYTES } from './logger.js';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** Parses `env` with `schema`, collecting every problem instead of stopping at the first. An empty value counts as unset. */
export function parseEnv<S extends z.ZodType>(schema: S, env: Record<string, string | undefined>): z.infer<S> {
  const result = schema.safeParse(Object.fromEntries(Object.entries(env).filter(([, value]) => value !== '')));
  if (result.success) return result.data;
  throw new ConfigError(result.error.issues.map((issue) => `${issue.path.join('.') || '(environment)'}: ${issue.message}`));
}

/**
 * The variables of `env` that `schema` does not read and no pattern of `families` matches: set in a
 * deployment file (compose, Kubernetes) they would silently do nothing. The deployment tests use it.
 */
export function unknownVariables(schema: z.ZodObject, env: Record<string, unknown>, families: readonly RegExp[] = []): string[] {
  const known = new Set(Object.keys(schema.shape));
  return Object.keys(env).filter((key) => !known.has(key) && !families.some((family) => family.test(key)));
}

/** For index.ts files: build the config, or print what is wrong and exit 1. */
export function configOrExit<T>(build: () => T): T {
  try {
    return build();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
}

export const booleanFlag = (fallback: boolean) =>
  z.enum(['true', 'false', '1', '0']).optional().transform((value) => (value === undefined ? fallback : value === 'true' || value === '1'));

export const port = z.coerce.number().int().min(0).max(65535);
export const nodeEnv = z.enum(['development', 'test', 'production']).default('development');
export const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info');
/** LOG_BUFFER_BYTES: how much log output may wait for a slow stdout reader before lines are dropped. */
export const logBufferBytes = z.coerce.number().int().min(4096).max(256 * 1024 * 1024).default(LOG_BUFFER_DEFAULT_BYTES);
export const postgresUrl = z.string().regex(/^postgres(ql)?:\/\/\S+$/, 'must be a postgres:// or postgresql:// URL');

/** What every service process is configured with, whichever service it is. */
export interface ProcessConfig {
  nodeEnv: 'development' | 'test' | 'production';
  host: string;
  port: number;
  logLevel: z.infer<typeof logLevel>;
  /** What may wait for a slow stdout reader before log lines are dropped. */
  logBufferBytes: number;
  /** SIGTERM/SIGINT: ready delay and deadline (shutdown.ts). */
  shutdown: ShutdownConfig;
}
