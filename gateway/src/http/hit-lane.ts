// The hit lane: an anonymous request whose exact body this replica has already seen answered from
// a public cache entry is answered again in front of Express and Apollo. The raw body's hash names
// what the full path learned about it (the entry's key and the operation's cost: both pure
// functions of the body, see response-cache.ts), and one round trip to the store takes the
// client's budget and reads the entry together. Everything else — a body never learned, a miss, a
// refusal, a store that does not answer — continues down the full path with the body already read
// and, if the budget was taken, marked as paid, so nothing is charged twice.
// Only requests that can carry nothing private qualify: no Authorization, no API key, no Origin
// (browsers get CORS from the full path), plain JSON, small.
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { brotliCompressSync, constants as zlibConstants, gzipSync } from 'node:zlib';
import { LRUCache } from 'lru-cache';
import Negotiator from 'negotiator';
import type { FailOpenCache } from '@commerce/platform/fail-open-cache';
import type { Logger } from '@commerce/platform/logger';
import type { ServiceMetrics } from '@commerce/platform/metrics';
import { parseJsonBody, sendInvalidJson } from '@commerce/platform/json-body';
import { requestIdOf } from '@commerce/platform/service';
import type { Counter } from 'prom-client';
import type { BucketLimit, BudgetDecision, BudgetStore } from '../limits/budget-store.js';
import { budgetOf, type BudgetLimits } from '../limits/client-budget.js';
import { clientIp } from './client-ip.js';
import { COMPRESSION_THRESHOLD_BYTES } from './edge.js';
import { type CachedHead, splitCached } from '../cache/response-cache.js';

/** What the full path found out about one exact request body. */
export interface LearnedRequest {
  /** The public response cache key. */
  key: string;
  cost: number;
  operationName: string | null;
}

/** A budget taken in the lane for a request that then went down the full path. */
export interface Prepaid {
  key: string;
  cost: number;
  limit: BucketLimit;
  decision: BudgetDecision;
}

/** What the lane hands the full path about a request it read. */
export interface LaneTicket {
  fingerprint: string;
  prepaid?: Prepaid;
}

export interface HitLaneOptions {
  cache: FailOpenCache;
  /** null: budgets are off. */
  budget: { store: BudgetStore; limits: BudgetLimits; fallbacks?: Counter } | null;
  /**
   * A body without a text whose answer may still be learned: a trusted document's id names one
   * fixed document for the process's life (an APQ hash does not: the store may lose it).
   */
  learnable?: (body: { extensions?: { persistedQuery?: { sha256Hash?: unknown } } }) => boolean;
  /** The service's body limit: the lane reads no more than this (nor than LANE_BODY_MAX). */
  bodyLimitBytes: number;
  trustProxyHops: number;
  httpMaxAgeSeconds: number;
  requests: Counter<'layer' | 'result'>;
  metrics: ServiceMetrics;
  logger: Logger;
}

/** Bodies the lane reads; larger ones (never a repeated catalog query) go straight on. */
const LANE_BODY_MAX = 16 * 1024;
const LEARNED_MAX = 10_000;
const JSON_TYPE = 'application/json; charset=utf-8';
const GRAPHQL_RESPONSE_TYPE = 'application/graphql-response+json; charset=utf-8';
/** Compressed copies kept, in bytes: about 5,000 catalog pages. */
const COMPRESSED_MAX_BYTES = 16 * 1024 * 1024;

export class HitLane {
  private readonly learned = new LRUCache<string, LearnedRequest>({ max: LEARNED_MAX });
  private readonly tickets = new WeakMap<IncomingMessage, LaneTicket>();
  private readonly compressed = new Map<string, Buffer>();
  private compressedBytes = 0;
  /** cache_requests_total{layer="response",result="hit"} and the latency series per operation label (bounded as the labels are). */
  private readonly hits: { inc(): void };
  private readonly durations = new Map<string, { observe(seconds: number): void }>();

  constructor(private readonly options: HitLaneOptions) {
    this.hits = options.requests.labels({ layer: 'response', result: 'hit' });
  }

  /** What the lane found out about this request before passing it on (undefined: it did not read it). */
  ticketOf(req: IncomingMessage): LaneTicket | undefined {
    return this.tickets.get(req);
  }

  /** Called by the full path once it has answered a body publicly from (or into) the cache. */
  learn(fingerprint: string, learned: LearnedRequest): void {
    this.learned.set(fingerprint, learned);
  }

  /** The HTTP server's request handler: answers a learned hit, or calls `pass` (the full path). */
  handle(req: IncomingMessage, res: ServerResponse, pass: () => void): void {
    const contentType = laneContentType(req, Math.min(LANE_BODY_MAX, this.options.bodyLimitBytes));
    if (contentType === null) return pass();
    const started = performance.now();
    const chunks: Buffer[] = [];
    // No named closures per request: they cost more than they say (a name, a context each).
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.once('end', () => this.read(req, res, pass, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks), contentType, started));
  }

  private read(req: IncomingMessage, res: ServerResponse, pass: () => void, raw: Buffer, contentType: string, started: number): void {
    const fingerprint = fingerprintOf(raw);
    const ticket: LaneTicket = { fingerprint };
    this.tickets.set(req, ticket);
    const learned = this.learned.get(fingerprint);
    if (!learned) return this.onward(req, res, pass, raw);
    this.answer(req, res, learned, ticket, contentType, started).then(
      (answered) => answered || this.onward(req, res, pass, raw),
      (error: unknown) => {
        this.options.logger.error({ err: error }, 'hit lane failed; answering on the full path');
        this.onward(req, res, pass, raw);
      },
    );
  }

  /** On to the full path, the body parsed only now (a learned body was valid JSON). */
  private onward(req: IncomingMessage, res: ServerResponse, pass: () => void, raw: Buffer): void {
    if (res.headersSent) return; // answered after all (something failed after the send)
    const body = parseJsonBody(raw);
    if (body === undefined) return sendInvalidJson(res, requestIdOf(req));
    // Only a single operation with its text (or a trusted document's id) is learned: not a
    // batch, not an APQ hash alone (whether that hash is still known is Apollo's to say, every time).
    const single = body !== null && typeof body === 'object' && !Array.isArray(body);
    if (!single || (typeof (body as { query?: unknown }).query !== 'string' && !this.options.learnable?.(body as object))) this.tickets.delete(req);
    // Express' body parser skips a request already read: it finds the body here.
    (req as IncomingMessage & { body?: unknown }).body = body;
    pass();
  }

  /** http_request_duration_seconds' series for an operation, looked up once per operation name, not per hit. */
  private durationOf(operationName: string | null): { observe(seconds: number): void } {
    const label = this.options.metrics.operationLabel(operationName);
    let series = this.durations.get(label);
    if (!series) this.durations.set(label, (series = this.options.metrics.requestDuration.labels({ operation: label, outcome: 'ok' })));
    return series;
  }

  private async answer(req: IncomingMessage, res: ServerResponse, learned: LearnedRequest, ticket: LaneTicket, contentType: string, started: number): Promise<boolean> {
    const { cache, budget } = this.options;
    const client = budget ? budgetOf({ kind: 'anonymous' }, clientIp(req, this.options.trustProxyHops), budget.limits) : null;
    // Issued in the same tick, so the Redis client sends them together: one round trip. (One
    // script doing both is slower: Lua copies the entry in and out.)
    const [decision, values] = await Promise.all([
      budget && client && learned.cost <= client.limit.capacity ? budget.store.take(client.key, learned.cost, client.limit) : null,
      cache.get([learned.key]),
    ]);
    if (client && !decision) return false; // more than the whole budget: the full path refuses it
    if (client && decision) {
      ticket.prepaid = { key: client.key, cost: learned.cost, limit: client.limit, decision };
      if (decision.source === 'local') budget?.fallbacks?.inc();
      if (!decision.allowed) return false; // the full path answers 429 with this decision
    }
    const text = values?.[0];
    if (!text) return false;
    const { head, body } = splitCached(text);
    if (head.scope !== 'PUBLIC') return false;
    this.hits.inc();
    const requestId = requestIdOf(req);
    // The headers as one flat list, handed to writeHead with the body: a hit is little more.
    const headers: string[] = [
      'content-type', contentType,
      'x-request-id', requestId,
      'x-cache', 'HIT',
      'age', String(Math.max(0, Math.floor((Date.now() - head.storedAt) / 1000))),
      'cache-control', `public, max-age=${Math.min(head.maxAge, this.options.httpMaxAgeSeconds)}, must-revalidate`,
    ];
    if (client && decision) headers.push('ratelimit-limit', String(client.limit.capacity), 'ratelimit-remaining', String(decision.remaining), 'ratelimit-reset', String(decision.resetSeconds));
    const payload = this.encode(req, headers, learned.key, head, body);
    const seconds = (performance.now() - started) / 1000;
    headers.push('server-timing', `lane;desc="hit lane";dur=${(seconds * 1000).toFixed(2)}`, 'content-length', String(typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length));
    res.writeHead(200, headers).end(payload);
    this.durationOf(learned.operationName).observe(seconds);
    if (this.options.logger.isLevelEnabled('info')) this.options.logger.info({ requestId, operation: learned.operationName, ms: Math.round(seconds * 1000), errors: 0, cache: 'HIT', lane: true }, 'graphql request');
    return true;
  }

  /** The body as the client accepts it: compressed once per stored entry, not once per hit. */
  private encode(req: IncomingMessage, headers: string[], key: string, head: CachedHead, body: string): string | Buffer {
    // What the full path's CORS and compression middlewares say, so caches keep variants apart.
    headers.push('vary', 'Origin, Accept-Encoding');
    if (body.length < COMPRESSION_THRESHOLD_BYTES || req.headers['accept-encoding'] === undefined) return body;
    const encoding = new Negotiator(req).encoding(['br', 'gzip', 'identity']);
    if (encoding !== 'br' && encoding !== 'gzip') return body;
    headers.push('content-encoding', encoding);
    const memo = `${encoding}:${head.storedAt}:${key}`;
    let packed = this.compressed.get(memo);
    if (!packed) {
      // The full path's settings (compression's defaults: brotli quality 4, gzip level 6): quality
      // 11 would stall the event loop on a large page.
      packed = encoding === 'br' ? brotliCompressSync(body, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 4 } }) : gzipSync(body);
      this.compressed.set(memo, packed);
      this.compressedBytes += packed.length;
      for (const [oldest, bytes] of this.compressed) {
        if (this.compressedBytes <= COMPRESSED_MAX_BYTES) break;
        this.compressed.delete(oldest);
        this.compressedBytes -= bytes.length;
      }
    }
    return packed;
  }
}

/** Bodies up to this size are their own fingerprint (as latin1 text: one byte per byte); longer ones are hashed. */
const LITERAL_FINGERPRINT_MAX = 1024;

/**
 * What names an exact body among the learned ones. A catalog query's body is a few hundred bytes:
 * comparing it is cheaper than hashing it (SHA-256 was ~4% of the lane's CPU), and 10,000 of them
 * take at most 10 MB. The two kinds cannot collide: a digest is 43 characters behind its own prefix.
 */
function fingerprintOf(raw: Buffer): string {
  return raw.length <= LITERAL_FINGERPRINT_MAX ? `=${raw.toString('latin1')}` : `#${createHash('sha256').update(raw).digest('base64url')}`;
}

/**
 * The media type the lane would answer with, or null for a request it leaves to the full path:
 * anything that could carry something private, or needs negotiation the lane does not do.
 */
function laneContentType(req: IncomingMessage, maxBody: number): string | null {
  if (req.method !== 'POST' || (req.url !== '/graphql' && req.url !== '/')) return null;
  const headers = req.headers;
  if (headers.authorization !== undefined || headers['x-api-key'] !== undefined || headers.origin !== undefined) return null;
  if (headers['transfer-encoding'] !== undefined || (headers['content-encoding'] ?? 'identity') !== 'identity') return null;
  const type = headers['content-type']?.toLowerCase();
  if (type !== 'application/json' && type !== 'application/json; charset=utf-8') return null;
  const length = Number(headers['content-length']);
  if (!(length > 0 && length <= maxBody)) return null;
  return contentTypeFor(req);
}

/**
 * The media type Apollo answers a single result with for this Accept header (its
 * chooseContentTypeForSingleResultResponse); null: not one the lane sends (Apollo then says 406).
 */
function contentTypeFor(req: IncomingMessage): string | null {
  const accept = req.headers.accept;
  if (accept === undefined || accept === '*/*') return JSON_TYPE;
  const preferred = new Negotiator(req).mediaType([JSON_TYPE, GRAPHQL_RESPONSE_TYPE]);
  return preferred === JSON_TYPE || preferred === GRAPHQL_RESPONSE_TYPE ? preferred : null;
}
