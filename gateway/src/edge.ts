// The gateway's HTTP edge, in front of Apollo: CORS from an allow-list, gzip/brotli for clients
// that accept it (mobile on slow networks), and the static query limits, checked on the raw
// document before Apollo parses and validates it.
import compression from 'compression';
import cors from 'cors';
import type { RequestHandler } from 'express';
import type { Counter } from 'prom-client';
import { sendRequestError } from '@commerce/shared/service';
import { checkQueryLimits, QueryLimitError, type QueryLimits } from './query-limits.js';

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

/** Accepted documents, remembered so a repeated query is not measured again. Rejected ones are not kept. */
const ACCEPTED_MAX = 2000;
const ACCEPTED_TEXT_MAX = 10_000;

export function queryLimitsMiddleware(limits: QueryLimits, rejected: Counter<'limit'>): RequestHandler {
  const accepted = new Map<string, true>();
  const check = (text: unknown) => {
    if (typeof text !== 'string' || accepted.has(text)) return;
    checkQueryLimits(text, limits);
    if (text.length > ACCEPTED_TEXT_MAX) return;
    if (accepted.size >= ACCEPTED_MAX) accepted.delete(accepted.keys().next().value as string);
    accepted.set(text, true);
  };
  return (req, res, next) => {
    try {
      const body: unknown = req.body;
      if (Array.isArray(body)) for (const item of body) check((item as { query?: unknown } | null)?.query);
      else check((body as { query?: unknown } | undefined)?.query);
      if (req.method === 'GET') check(req.query.query);
      next();
    } catch (error) {
      if (!(error instanceof QueryLimitError)) return next(error);
      rejected.inc({ limit: error.limit });
      const { http: _http, ...extensions } = error.extensions as Record<string, unknown>;
      sendRequestError(res, 400, 'QUERY_LIMIT_EXCEEDED', error.message, extensions);
    }
  };
}
