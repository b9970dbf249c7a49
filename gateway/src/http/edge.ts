// The gateway's HTTP edge, in front of Apollo: CORS from an allow-list, and gzip/brotli for
// clients that accept it (mobile on slow networks), and the static query limits, checked on the
// raw document before Apollo parses and validates it (a refusal is charged to the client's budget).
import { setTimeout } from 'node:timers/promises';
import compression from 'compression';
import cors from 'cors';
import type { Request, RequestHandler } from 'express';
import type { GraphQLError } from 'graphql';
import type { Counter } from 'prom-client';
import { sendRequestError } from '@commerce/platform/service';
import { refusalHoldMs } from '../limits/client-budget.js';
import { type DocumentLimits, QueryLimitError } from '../limits/query-limits.js';

/** An allowed origin without a port allows every port of its host (local front ends move around). */
export function originAllowed(origin: string, allowed: readonly string[]): boolean {
  if (allowed.includes('*')) return true;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  return allowed.some((entry) => {
    const rule = new URL(entry);
    return rule.protocol === url.protocol && rule.hostname === url.hostname && (rule.port === '' || rule.port === url.port);
  });
}

export function corsMiddleware(allowed: readonly string[]): RequestHandler {
  return cors({
    origin: (origin, callback) => callback(null, origin === undefined || originAllowed(origin, allowed)),
    // What Apollo clients and Sandbox send; the rate-limit and cache headers are for clients to read.
    allowedHeaders: ['content-type', 'authorization', 'x-api-key', 'x-request-id', 'apollo-require-preflight', 'x-apollo-operation-name', 'apollographql-client-name', 'apollographql-client-version'],
    exposedHeaders: ['x-request-id', 'x-cache', 'age', 'retry-after', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset'],
    maxAge: 600,
  });
}

/** Bodies under 1 kB gain nothing from compression (the headers cost more than they save). */
export const COMPRESSION_THRESHOLD_BYTES = 1024;

export const compressionMiddleware = (): RequestHandler => compression({ threshold: COMPRESSION_THRESHOLD_BYTES });

export interface QueryLimitsMiddlewareOptions {
  limits: DocumentLimits;
  rejected: Counter<'limit'>;
  /** Takes a refusal's flat cost from the caller's budget; the RATE_LIMITED error to answer instead when it cannot pay. */
  chargeRefusal?: (req: Request) => Promise<GraphQLError | null>;
}

/**
 * The static query limits on every document sent as text (POST bodies, batches, GET query
 * strings, APQ registrations), before Apollo parses and validates it; documents looked up by an
 * APQ hash are checked by the persisted-query cache (persisted-queries.ts).
 */
export function queryLimitsMiddleware(options: QueryLimitsMiddlewareOptions): RequestHandler {
  const checkRequest = (request: { query?: unknown; variables?: unknown } | null | undefined) => {
    if (typeof request?.query === 'string') options.limits.check(request.query);
    if (request?.variables !== undefined) options.limits.checkVariables(request.variables);
  };
  return async (req, res, next) => {
    try {
      const body: unknown = req.body;
      if (Array.isArray(body)) for (const item of body) checkRequest(item as { query?: unknown } | null);
      else checkRequest(body as { query?: unknown } | undefined);
      if (req.method === 'GET') checkRequest({ query: req.query.query, variables: jsonOrUndefined(req.query.variables) });
      next();
    } catch (error) {
      if (!(error instanceof QueryLimitError)) return next(error);
      options.rejected.inc({ limit: error.limit });
      const limited = await options.chargeRefusal?.(req).catch(() => null);
      const refusal = limited ?? error;
      const { http: _http, ...extensions } = refusal.extensions as Record<string, unknown>;
      if (limited) {
        await setTimeout(refusalHoldMs(limited));
        res.setHeader('retry-after', String(extensions.retryAfterSeconds));
      }
      sendRequestError(res, limited ? 429 : 400, String(extensions.code), refusal.message, extensions);
    }
  };
}

/** A GET's `variables` parameter as Apollo will read it (JSON), or undefined when it is not JSON. */
function jsonOrUndefined(value: unknown): unknown {
  if (typeof value !== 'string') return undefined;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return undefined;
  }
}
