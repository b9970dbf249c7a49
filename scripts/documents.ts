// `npm run documents`: the operations our example clients send (clients/operations/*.graphql),
// validated against the public schema (schema/api.graphql) and the gateway's default static
// limits, turned into typed documents by GraphQL Code Generator's client preset
// (clients/generated/, committed) and into the trusted-documents manifest in Apollo's persisted
// query manifest format (clients/persisted-query-manifest.json, committed), which the gateway
// loads at start. Each body is the preset's printed document, the one its typed document carries
// the hash of, so a client using the typed documents sends exactly the listed id.
// `--check`: write nothing, exit 1 when the committed files differ from fresh ones.
import { readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { generate } from '@graphql-codegen/cli';
import { buildSchema, Kind, type OperationDefinitionNode, parse, validate } from 'graphql';
import { MANIFEST_FORMAT, type ManifestOperation, type PersistedQueryManifest, sha256Hex } from '../gateway/src/cache/persisted-documents.js';
import { DocumentLimits, QUERY_LIMIT_DEFAULTS, QueryLimitError } from '../gateway/src/limits/query-limits.js';

const ROOT = join(import.meta.dirname, '..');
export const OPERATIONS_DIR = join(ROOT, 'clients', 'operations');
export const GENERATED_DIR = join(ROOT, 'clients', 'generated');
export const MANIFEST_PATH = join(ROOT, 'clients', 'persisted-query-manifest.json');
const SCHEMA_PATH = join(ROOT, 'schema', 'api.graphql');
const PERSISTED_JSON = 'persisted-documents.json';

export interface GeneratedFile {
  path: string;
  content: string;
}

/** Every operation file is a valid executable document against the public schema, within the default limits. */
function checkOperations(): void {
  const schema = buildSchema(readFileSync(SCHEMA_PATH, 'utf8'));
  const files = readdirSync(OPERATIONS_DIR).filter((name) => name.endsWith('.graphql')).sort();
  if (files.length === 0) throw new Error(`no operations in ${relative(ROOT, OPERATIONS_DIR)}`);
  // All files together: fragments live in files of their own and are spread from others.
  const document = parse(files.map((name) => readFileSync(join(OPERATIONS_DIR, name), 'utf8')).join('\n'));
  const errors = validate(schema, document);
  if (errors.length > 0) throw new Error(`clients/operations do not validate against schema/api.graphql:\n${errors.map((error) => `  - ${error.message}`).join('\n')}`);
}

/** The client preset's output, in memory: typed documents and the hash → body map they were hashed from. */
async function codegen(): Promise<GeneratedFile[]> {
  const outputs = (await generate(
    {
      schema: SCHEMA_PATH,
      documents: join(OPERATIONS_DIR, '*.graphql'),
      silent: true,
      errorsOnly: true,
      // Relative imports with .js, as the project's NodeNext resolution wants them.
      importExtension: '.js',
      generates: {
        [`${GENERATED_DIR}/`]: {
          preset: 'client',
          presetConfig: { fragmentMasking: false, persistedDocuments: { mode: 'embedHashInDocument', hashAlgorithm: sha256Hex } },
          config: { enumsAsTypes: true, useTypeImports: true, scalars: { DateTime: 'string' } },
        },
      },
    },
    false,
  )) as Array<{ filename: string; content: string }>;
  return outputs.map((output) => ({ path: output.filename, content: output.content })).sort((a, b) => a.path.localeCompare(b.path));
}

/** Apollo's manifest from the preset's persisted documents: ids checked, sorted by name then id. */
export function manifestOf(persisted: Record<string, string>): PersistedQueryManifest {
  const limits = new DocumentLimits(QUERY_LIMIT_DEFAULTS);
  const operations: ManifestOperation[] = Object.entries(persisted).map(([id, body]) => {
    if (sha256Hex(body) !== id) throw new Error(`persisted document ${id} is not the SHA-256 of its body`);
    const definition = parse(body).definitions.find((candidate): candidate is OperationDefinitionNode => candidate.kind === Kind.OPERATION_DEFINITION);
    if (!definition) throw new Error(`persisted document ${id} holds no operation`);
    const name = definition.name?.value ?? null;
    try {
      limits.check(body);
    } catch (error) {
      if (error instanceof QueryLimitError) throw new Error(`operation ${name ?? id} exceeds the gateway's default static limit ${error.limit} (max ${error.max}, found ${error.found})`);
      throw error;
    }
    return { id, name, type: definition.operation, body };
  });
  operations.sort((a, b) => (a.name ?? '').localeCompare(b.name ?? '') || a.id.localeCompare(b.id));
  return { format: MANIFEST_FORMAT, version: 1, operations };
}

/** Every file `npm run documents` writes, with its fresh content. */
export async function freshDocuments(): Promise<GeneratedFile[]> {
  checkOperations();
  const generated = await codegen();
  const persisted = generated.find((file) => file.path.endsWith(PERSISTED_JSON));
  if (!persisted) throw new Error(`the client preset wrote no ${PERSISTED_JSON}`);
  const manifest = manifestOf(JSON.parse(persisted.content) as Record<string, string>);
  // The preset's map is the manifest's input, not a second list to keep in step: not committed.
  const typed = generated.filter((file) => file !== persisted);
  return [...typed, { path: MANIFEST_PATH, content: `${JSON.stringify(manifest, null, 2)}\n` }];
}

/** The files whose committed content differs from a fresh generation (missing ones included). */
export async function staleDocuments(): Promise<string[]> {
  const stale: string[] = [];
  for (const file of await freshDocuments()) {
    let committed: string | null = null;
    try {
      committed = readFileSync(file.path, 'utf8');
    } catch {
      // missing: stale
    }
    if (committed !== file.content) stale.push(relative(ROOT, file.path));
  }
  return stale;
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  if (process.argv.includes('--check')) {
    const stale = await staleDocuments();
    if (stale.length > 0) {
      console.error(`out of date (run npm run documents): ${stale.join(', ')}`);
      process.exit(1);
    }
    console.log('clients/: the manifest and typed documents are up to date');
  } else {
    const files = await freshDocuments();
    for (const file of files) {
      mkdirSync(dirname(file.path), { recursive: true });
      writeFileSync(file.path, file.content);
    }
    const manifest = JSON.parse(files.at(-1)!.content) as PersistedQueryManifest;
    console.log(`${manifest.operations.length} operations (${manifest.operations.map((operation) => operation.name).join(', ')}) -> ${relative(ROOT, MANIFEST_PATH)}; typed documents -> ${relative(ROOT, GENERATED_DIR)}/`);
  }
}
