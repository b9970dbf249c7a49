// Per-client budgets at the gateway: every operation's cost (computed before execution) is taken
// from its client's token bucket — a user, a partner client (by tier), or an anonymous address.
// Refused: HTTP 429 with Retry-After and code RATE_LIMITED (the cost and the budget in
// extensions). Every response carries RateLimit-Limit / -Remaining / -Reset (IETF draft).
import { type ApolloServerPlugin, type GraphQLRequestContext, HeaderMap } from '@apollo/server';
import type { Identity } from '@commerce/shared/identity';
import { GraphQLError } from 'graphql';
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

export function clientBudgetPlugin<C extends BudgetContext>(options: ClientBudgetOptions<C>): ApolloServerPlugin<C> {
  return {
    async requestDidStart() {
      let outcome: { decision: BudgetDecision; limit: BucketLimit } | undefined;
      return {
        async didResolveOperation(requestContext) {
          const { key, limit } = budgetOf(requestContext.contextValue.identity, requestContext.contextValue.clientIp, options.limits);
          const cost = options.costOf(requestContext);
          // More than the whole bucket can never be admitted: waiting would not help, so no 429.
          if (cost > limit.capacity) throw new QueryLimitError('cost', limit.capacity, cost, 'your budget');
          const { prepaid } = requestContext.contextValue;
          let decision: BudgetDecision;
          if (prepaid && prepaid.key === key && prepaid.cost === cost) decision = prepaid.decision;
          else {
            decision = await options.store.take(key, cost, limit);
            if (decision.source === 'local') options.fallbacks?.inc();
          }
          outcome = { decision, limit };
          if (decision.allowed) return;
          options.rateLimited.inc({ scope: 'client_budget' });
          throw new GraphQLError(`Rate limited: this operation costs ${cost} and your budget has ${decision.remaining} of ${limit.capacity} left (it refills at ${limit.refillPerSecond} per second). Retry in ${decision.retryAfterSeconds} s.`, {
            extensions: {
              code: 'RATE_LIMITED',
              cost,
              budget: { capacity: limit.capacity, remaining: decision.remaining, refillPerSecond: limit.refillPerSecond },
              retryAfterSeconds: decision.retryAfterSeconds,
              http: { status: 429, headers: new HeaderMap([['retry-after', String(decision.retryAfterSeconds)]]) },
            },
          });
        },
        async willSendResponse({ response }) {
          if (!outcome) return;
          response.http.headers.set('ratelimit-limit', String(outcome.limit.capacity));
          response.http.headers.set('ratelimit-remaining', String(outcome.decision.remaining));
          response.http.headers.set('ratelimit-reset', String(outcome.decision.resetSeconds));
        },
      };
    },
  };
}
