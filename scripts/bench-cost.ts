// What weighing an operation costs per request: the gateway's static limit check (a parse plus one
// pass) and its cost analysis, against the work Apollo does anyway for the same document (parse
// and validate against the API schema), measured in one run on the same documents.
// Usage: npm run -s bench:cost [-- --iterations 20000]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildSchema, type OperationDefinitionNode, parse, validate } from 'graphql';
import { operationCost } from '../gateway/src/operation-cost.js';
import { checkQueryLimits, QUERY_LIMIT_DEFAULTS } from '../gateway/src/query-limits.js';

const { values } = parseArgs({ options: { iterations: { type: 'string', default: '20000' } } });
const iterations = Number(values.iterations);
const schema = buildSchema(readFileSync(join(import.meta.dirname, '..', 'schema', 'api.graphql'), 'utf8'));

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
  const cost = time(() => operationCost(schema, document, operation, { n: 20 }));
  console.log(`${name.padEnd(21)} | ${baseline.toFixed(1).padStart(18)} µs | ${limits.toFixed(1).padStart(9)} µs | ${cost.toFixed(2).padStart(10)} µs | ${((limits + cost) / baseline).toFixed(2)}`);
}
console.log('\nThe limits check runs once per distinct document (accepted documents are remembered); cost analysis on every request.');
