// The gateway's HTTP edge, in front of Apollo: CORS from an allow-list, and gzip/brotli for
// clients that accept it (mobile on slow networks), the trusted-documents gate (require mode), and
// the static query limits, checked on the raw document before Apollo parses and validates it (a
// refusal is charged to the client's budget).
import { setTimeout } from 'node:timers/promises';
import compression from 'compression';
import cors from 'cors';
import type { Request, RequestHandler, Response } from 'express';
import { GraphQLError } from 'graphql';
import type { Counter } from 'prom-client';
import { sendRequestError } from '@commerce/platform/service';
import { refusalHoldMs } from '../limits/client-budget.js';
import { type DocumentLimits, QueryLimitError } from '../limits/query-limits.js';
import type { PersistedDocuments } from '../cache/persisted-documents.js';

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
  chargeRefusal?: RefusalCharge;
}

/** Takes a refusal's flat cost from the caller's budget; the RATE_LIMITED error to answer instead when it cannot pay. */
export type RefusalCharge = (req: Request) => Promise<GraphQLError | null>;

/** A GraphQL request as it arrived: a POST body (or one item of a batch), or a GET's parameters. */
interface ArrivedRequest {
  query?: unknown;
  variables?: unknown;
  extensions?: unknown;
}

/** Every request in the HTTP request: the body's (a batch has several), and a GET's query string. */
function arrivedRequests(req: Request): ArrivedRequest[] {
  const body: unknown = req.body;
  const found: ArrivedRequest[] = Array.isArray(body) ? (body as ArrivedRequest[]) : body && typeof body === 'object' ? [body as ArrivedRequest] : [];
  if (req.method === 'GET') found.push({ query: req.query.query, variables: jsonOrUndefined(req.query.variables), extensions: jsonOrUndefined(req.query.extensions) });
  return found.filter((request) => request !== null && typeof request === 'object');
}

/**
 * Answers a request refused before Apollo: HTTP 400 with the refusal's code, or 429 when the
 * client's budget cannot pay the refusal's flat cost either (then after a short hold).
 */
async function sendRefusal(req: Request, res: Response, refused: GraphQLError, chargeRefusal?: RefusalCharge): Promise<void> {
  const limited = await chargeRefusal?.(req).catch(() => null);
  const refusal = limited ?? refused;
  const { http: _http, ...extensions } = refusal.extensions as Record<string, unknown>;
  if (limited) {
    await setTimeout(refusalHoldMs(limited));
    res.setHeader('retry-after', String(extensions.retryAfterSeconds));
  }
  sendRequestError(res, limited ? 429 : 400, String(extensions.code), refusal.message, extensions);
}

/**
 * The static query limits on every document sent as text (POST bodies, batches, GET query
 * strings, APQ registrations), before Apollo parses and validates it; documents looked up by an
 * APQ hash are checked by the persisted-query cache (persisted-queries.ts).
 */
export function queryLimitsMiddleware(options: QueryLimitsMiddlewareOptions): RequestHandler {
  return async (req, res, next) => {
    try {
      for (const request of arrivedRequests(req)) {
        if (typeof request.query === 'string') options.limits.check(request.query);
        if (request.variables !== undefined) options.limits.checkVariables(request.variables);
      }
      next();
    } catch (error) {
      if (!(error instanceof QueryLimitError)) return next(error);
      options.rejected.inc({ limit: error.limit });
      await sendRefusal(req, res, error, options.chargeRefusal);
    }
  };
}

export const PERSISTED_QUERY_NOT_IN_LIST = 'PERSISTED_QUERY_NOT_IN_LIST';

/** HTTP 400, code PERSISTED_QUERY_NOT_IN_LIST: in require mode, a document (or hash) that is not on the list. */
export class PersistedQueryNotInListError extends GraphQLError {
  constructor(what: 'text' | 'id') {
    super(
      what === 'text'
        ? 'This gateway runs only listed operations (PERSISTED_DOCUMENTS=require): this document is not on its list. Send a listed operation by its id, as extensions.persistedQuery.sha256Hash.'
        : 'This gateway runs only listed operations (PERSISTED_DOCUMENTS=require): no listed operation has this id.',
      { extensions: { code: PERSISTED_QUERY_NOT_IN_LIST } },
    );
  }
}

export interface PersistedDocumentsMiddlewareOptions {
  documents: PersistedDocuments;
  refused?: Counter;
  chargeRefusal?: RefusalCharge;
}

/**
 * Require mode's gate, before the static limits and Apollo: a request runs only with a listed id
 * (`extensions.persistedQuery.sha256Hash`) or a listed document's exact text. Anything else, an
 * APQ registration included, is refused with PERSISTED_QUERY_NOT_IN_LIST (HTTP 400). A request
 * with neither text nor hash is left to Apollo (BAD_REQUEST). Other modes pass everything on.
 */
export function persistedDocumentsMiddleware(options: PersistedDocumentsMiddlewareOptions): RequestHandler {
  const { documents } = options;
  const refusalOf = (request: ArrivedRequest): 'text' | 'id' | null => {
    if (typeof request.query === 'string') return documents.listsText(request.query) ? null : 'text';
    const persisted = (request.extensions as { persistedQuery?: { sha256Hash?: unknown } } | undefined)?.persistedQuery;
    if (persisted === undefined || persisted === null) return null;
    return documents.lists(persisted.sha256Hash) ? null : 'id';
  };
  return async (req, res, next) => {
    if (documents.mode !== 'require') return next();
    for (const request of arrivedRequests(req)) {
      const refusal = refusalOf(request);
      if (refusal === null) continue;
      options.refused?.inc();
      return sendRefusal(req, res, new PersistedQueryNotInListError(refusal), options.chargeRefusal);
    }
    next();
  };
}

/** A GET's `variables` or `extensions` parameter as Apollo will read it (JSON), or undefined when it is not JSON. */
function jsonOrUndefined(value: unknown): unknown {
  if (typeof value !== 'string') return undefined;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return undefined;
  }
}
