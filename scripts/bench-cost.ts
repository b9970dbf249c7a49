// What weighing an operation costs per request: the gateway's static limit check (a parse plus one
// pass) and its cost analysis, against the work Apollo does anyway for the same document (parse
// and validate against the API schema), measured in one run on the same documents; then, for the
// largest documents of each expanding class that the limits still accept, every stage before
// execution.
// Usage: npm run -s bench:cost [-- --iterations 20000]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildSchema, type OperationDefinitionNode, parse, validate } from 'graphql';
import { costSchemaOfSdl } from '../gateway/src/limits/cost-schema.js';
import { operationCost } from '../gateway/src/limits/operation-cost.js';
import { checkQueryLimits, QUERY_LIMIT_DEFAULTS } from '../gateway/src/limits/query-limits.js';
import { Supergraph, operationFromDocument } from '@apollo/federation-internals';
import { QueryPlanner } from '@apollo/query-planner';
import { aliasBomb, directivesOnSpreads, fragmentFanout, fragmentTree, type HostileRequest, manyOperations, overlappingFragments, repeatedField, repeatedSubtree } from '@commerce/harness/hostile-documents';

const { values } = parseArgs({ options: { iterations: { type: 'string', default: '20000' } } });
const iterations = Number(values.iterations);
const schema = buildSchema(readFileSync(join(import.meta.dirname, '..', 'schema', 'api.graphql'), 'utf8'));
// The gateway weighs against the supergraph's @cost / @listSize directives.
const costs = costSchemaOfSdl(readFileSync(join(import.meta.dirname, '..', 'schema', 'supergraph.graphql'), 'utf8'));

const documents: Record<string, string> = {
  'product by id': '{ product(id: "00000000-0000-4000-8000-000000000001") { id name price { amount currency } } }',
  'catalog page': 'query Catalog($n: Int) { products(first: $n) { totalCount edges { cursor node { id name description stock price { amount currency } } } pageInfo { hasNextPage endCursor } } }',
  'my orders (README)': 'query MyOrders { me { name orders(first: 10) { edges { cursor node { id status total { amount currency } items { quantity product { id name price { amount currency } } } } } pageInfo { hasNextPage endCursor } } } }',
};

function time(run: () => void): number {
  for (let i = 0; i < Math.min(2000, iterations); i++) run(); // warm the JIT
  const started = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) run();
  return Number(process.hrtime.bigint() - started) / 1000 / iterations; // µs per run
}

console.log(`${iterations} iterations per measurement\n`);
console.log('document              | Apollo parse+validate | limits check | cost analysis | (limits+cost) / baseline');
for (const [name, text] of Object.entries(documents)) {
  const baseline = time(() => validate(schema, parse(text)));
  const limits = time(() => checkQueryLimits(text, QUERY_LIMIT_DEFAULTS));
  const document = parse(text);
  const operation = document.definitions[0] as OperationDefinitionNode;
  const cost = time(() => operationCost(costs, document, operation, { n: 20 }));
  console.log(`${name.padEnd(21)} | ${baseline.toFixed(1).padStart(18)} µs | ${limits.toFixed(1).padStart(9)} µs | ${cost.toFixed(2).padStart(10)} µs | ${((limits + cost) / baseline).toFixed(2)}`);
}
console.log('\nThe limits check runs once per distinct document (accepted documents are remembered); cost analysis on every request.');

// The largest documents the limits still accept, one per class of expanding document, and what
// every stage before execution costs for them: the static check, Apollo's parse + validate, the
// cost walk and the query plan (as the gateway plans: fragment reuse off). What an attacker can
// make one new document cost once it passes.
const supergraph = Supergraph.build(readFileSync(join(import.meta.dirname, '..', 'schema', 'supergraph.graphql'), 'utf8'));
const api = supergraph.apiSchema();
const planner = new QueryPlanner(supergraph, { reuseQueryFragments: false });
/** The largest size of a class that the default limits still accept. */
function largestAccepted(make: (n: number) => HostileRequest): HostileRequest {
  let accepted: HostileRequest | undefined;
  for (let n = 1; n < 100_000; n++) {
    const request = make(n);
    try {
      checkQueryLimits(request.query, QUERY_LIMIT_DEFAULTS);
      accepted = request;
    } catch {
      if (accepted) return accepted;
    }
  }
  throw new Error('no size of this class is accepted');
}
const atTheLimits = [
  largestAccepted((n) => fragmentFanout(n, 2, 0)),
  largestAccepted((n) => fragmentFanout(n, 4, 1)),
  largestAccepted((n) => fragmentFanout(n, 2, 2)),
  largestAccepted((n) => repeatedField(n, 0)),
  largestAccepted((n) => repeatedSubtree(n, 1)),
  largestAccepted((n) => overlappingFragments(n, 0)),
  largestAccepted((n) => fragmentTree(n, 1)),
  largestAccepted((n) => manyOperations(n, true)),
  largestAccepted((n) => directivesOnSpreads(n, true)),
  largestAccepted((n) => aliasBomb(n)),
];
const rounds = Math.max(5, Math.floor(iterations / 200));
console.log(`\ndocuments at the limits (each still accepted), ${rounds} iterations`);
console.log('document                                     | limits check | parse+validate | cost     | plan     | total');
for (const request of atTheLimits) {
  checkQueryLimits(request.query, QUERY_LIMIT_DEFAULTS); // throws if the limits refuse it: then it is not at the limits
  const document = parse(request.query);
  if (validate(schema, document).length > 0) throw new Error(`${request.name} is not valid: ${validate(schema, document)[0]?.message}`);
  const operation = document.definitions.find((d): d is OperationDefinitionNode => d.kind === 'OperationDefinition' && (request.operationName === undefined || d.name?.value === request.operationName))!;
  const each = (run: () => void) => {
    run();
    const started = process.hrtime.bigint();
    for (let i = 0; i < rounds; i++) run();
    return Number(process.hrtime.bigint() - started) / 1e6 / rounds; // ms per run
  };
  const limits = each(() => checkQueryLimits(request.query, QUERY_LIMIT_DEFAULTS));
  const validation = each(() => validate(schema, parse(request.query)));
  const cost = each(() => operationCost(costs, document, operation, {}));
  const plan = each(() => planner.buildQueryPlan(operationFromDocument(api, document, { operationName: request.operationName, validate: false })));
  const ms = (value: number) => `${value.toFixed(2).padStart(5)} ms`;
  console.log(`${request.name.slice(0, 44).padEnd(44)} | ${ms(limits).padStart(12)} | ${ms(validation).padStart(14)} | ${ms(cost)} | ${ms(plan)} | ${ms(limits + validation + cost + plan)}`);
}
