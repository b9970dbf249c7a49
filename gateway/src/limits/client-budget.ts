// Per-client budgets at the gateway: every operation's cost (computed before execution) is taken
// from its client's token bucket — a user, a partner client (by tier), or an anonymous address.
// Refused: HTTP 429 with Retry-After and code RATE_LIMITED (the cost and the budget in
// extensions). Every response carries RateLimit-Limit / -Remaining / -Reset (IETF draft).
import { type ApolloServerPlugin, type GraphQLRequestContext, HeaderMap } from '@apollo/server';
import type { Identity } from '@commerce/platform/identity';
import { GraphQLError } from 'graphql';
import { setTimeout } from 'node:timers/promises';
import type { Counter } from 'prom-client';
import type { BucketLimit, BudgetDecision, BudgetStore } from './budget-store.js';
import { QueryLimitError } from './query-limits.js';

export interface BudgetLimits {
  anonymous: BucketLimit;
  user: BucketLimit;
  /** Signed-in admins (back-office screens and reports ask for big pages). */
  admin: BucketLimit;
  /** Partners whose tier has no entry in `tiers`. */
  partner: BucketLimit;
  tiers: Record<string, BucketLimit>;
  /**
   * What a refused request (a static limit, a parse or validation error, an operation too costly
   * to run) takes from its client's bucket: refusals are cheap to answer, not free to send.
   */
  refusalCost: number;
}

export interface BudgetContext {
  identity: Identity;
  /** The client's address (TRUST_PROXY_HOPS applied), which identifies anonymous clients. */
  clientIp: string;
  /** Taken already by the hit lane for this request (it then went on here): not taken again. */
  prepaid?: { key: string; cost: number; decision: BudgetDecision };
}

export interface ClientBudgetOptions<C extends BudgetContext> {
  store: BudgetStore;
  limits: BudgetLimits;
  /** The operation's cost, computed before (operation-cost-plugin.ts). */
  costOf: (requestContext: GraphQLRequestContext<C>) => number;
  rateLimited: Counter<'scope'>;
  fallbacks?: Counter;
}

/** The bucket a caller draws on, and its size. */
export function budgetOf(identity: Identity, clientIp: string, limits: BudgetLimits): { key: string; limit: BucketLimit } {
  switch (identity.kind) {
    case 'user':
      return { key: `user:${identity.userId}`, limit: identity.role === 'ADMIN' ? limits.admin : limits.user };
    case 'partner':
      return { key: `partner:${identity.clientId}`, limit: limits.tiers[identity.tier] ?? limits.partner };
    default:
      return { key: `ip:${clientIp}`, limit: limits.anonymous };
  }
}

/** HTTP 429 with Retry-After: the cost does not fit in what is left of the bucket. */
function rateLimitedError(cost: number, decision: BudgetDecision, limit: BucketLimit, what = 'this operation costs'): GraphQLError {
  return new GraphQLError(`Rate limited: ${what} ${cost} and your budget has ${decision.remaining} of ${limit.capacity} left (it refills at ${limit.refillPerSecond} per second). Retry in ${decision.retryAfterSeconds} s.`, {
    extensions: {
      code: 'RATE_LIMITED',
      cost,
      budget: { capacity: limit.capacity, remaining: decision.remaining, refillPerSecond: limit.refillPerSecond },
      retryAfterSeconds: decision.retryAfterSeconds,
      http: { status: 429, headers: new HeaderMap([['retry-after', String(decision.retryAfterSeconds)]]) },
    },
  });
}

/**
 * A refusal its client could not pay for is answered (429) only after this long, or after its
 * Retry-After if sooner: a client sending refused documents in a loop, ignoring Retry-After, then
 * waits instead of taking the gateway's time (holding an answer costs a timer, not CPU).
 */
export const REFUSAL_HOLD_MAX_MS = 1000;

/** How long to hold the answer to a refusal its client could not pay for (RATE_LIMITED). */
export const refusalHoldMs = (error: GraphQLError): number => Math.min(REFUSAL_HOLD_MAX_MS, 1000 * Number(error.extensions.retryAfterSeconds ?? 1));

/** Codes of requests refused before execution, which pay the flat refusal cost. */
const REFUSALS = new Set(['GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'QUERY_LIMIT_EXCEEDED', 'BAD_REQUEST']);

type ChargeOptions = Pick<ClientBudgetOptions<BudgetContext>, 'store' | 'limits' | 'rateLimited' | 'fallbacks'>;

/** Takes `cost` from a bucket, counting a decision this replica had to make alone. */
async function take(options: ChargeOptions, key: string, cost: number, limit: BucketLimit): Promise<BudgetDecision> {
  const decision = await options.store.take(key, cost, limit);
  if (decision.source === 'local') options.fallbacks?.inc();
  return decision;
}

/** The RATE_LIMITED error for a refused take, counted. */
function refused(options: ChargeOptions, cost: number, decision: BudgetDecision, limit: BucketLimit, what?: string): GraphQLError {
  options.rateLimited.inc({ scope: 'client_budget' });
  return rateLimitedError(cost, decision, limit, what);
}

/**
 * Takes the flat refusal cost from the caller's bucket: null when refusals are free, else the
 * decision and, when it could not pay, the RATE_LIMITED error to answer instead (a client that
 * floods refusals ends up refused cheaply).
 */
export function refusalCharge<C extends BudgetContext>(options: ChargeOptions) {
  return async (context: C): Promise<{ error: GraphQLError | null; decision: BudgetDecision; limit: BucketLimit } | null> => {
    const cost = options.limits.refusalCost;
    if (cost <= 0) return null;
    const { key, limit } = budgetOf(context.identity, context.clientIp, options.limits);
    const decision = await take(options, key, cost, limit);
    return { error: decision.allowed ? null : refused(options, cost, decision, limit, 'a refused request costs'), decision, limit };
  };
}

export function clientBudgetPlugin<C extends BudgetContext>(options: ClientBudgetOptions<C>): ApolloServerPlugin<C> {
  const chargeRefusal = refusalCharge(options);
  return {
    async requestDidStart() {
      let outcome: { decision: BudgetDecision; limit: BucketLimit } | undefined;
      let refusedInstead: GraphQLError | null = null;
      return {
        async didResolveOperation(requestContext) {
          const { key, limit } = budgetOf(requestContext.contextValue.identity, requestContext.contextValue.clientIp, options.limits);
          const cost = options.costOf(requestContext);
          // More than the whole bucket can never be admitted: waiting would not help, so no 429.
          if (cost > limit.capacity) throw new QueryLimitError('cost', limit.capacity, cost, 'your budget');
          const { prepaid } = requestContext.contextValue;
          const decision = prepaid && prepaid.key === key && prepaid.cost === cost ? prepaid.decision : await take(options, key, cost, limit);
          outcome = { decision, limit };
          if (!decision.allowed) throw refused(options, cost, decision, limit);
        },
        // A request refused before its operation was charged (Apollo's parse and validation
        // errors, a cost over the maximum) pays the flat refusal cost instead.
        async didEncounterErrors({ errors, contextValue }) {
          if (outcome || !errors.some((error) => REFUSALS.has(String(error.extensions?.code)))) return;
          const charged = await chargeRefusal(contextValue);
          if (!charged) return;
          outcome = charged;
          refusedInstead = charged.error;
        },
        async willSendResponse({ response }) {
          if (!outcome) return;
          if (refusedInstead) {
            await setTimeout(refusalHoldMs(refusedInstead));
            const { http: _http, ...extensions } = refusedInstead.extensions as Record<string, unknown>;
            response.body = { kind: 'single', singleResult: { errors: [{ message: refusedInstead.message, extensions }] } };
            response.http.status = 429;
            response.http.headers.set('retry-after', String(outcome.decision.retryAfterSeconds));
          }
          response.http.headers.set('ratelimit-limit', String(outcome.limit.capacity));
          response.http.headers.set('ratelimit-remaining', String(outcome.decision.remaining));
          response.http.headers.set('ratelimit-reset', String(outcome.decision.resetSeconds));
        },
      };
    },
  };
}
