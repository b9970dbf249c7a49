// Trusted documents: the operations our own clients send, listed in Apollo's persisted query
// manifest format (`clients/persisted-query-manifest.json`, written by `npm run documents`), read
// once at start. A client sends a listed operation by id alone, as the APQ extension
// `{"persistedQuery":{"version":1,"sha256Hash":"<id>"}}`; the id is the SHA-256 of the body, so
// the same document sent in full has the same id. Every listed document is checked against the
// static limits here, once: a manifest that lists one over them is refused at start, by name.
// What each mode lets through: docs/caching.md#persisted-documents.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from '@commerce/platform/env';
import { Kind, type OperationDefinitionNode, parse } from 'graphql';
import { z } from 'zod';
import { type DocumentLimits, QueryLimitError } from '../limits/query-limits.js';

/** off: no list (APQ as Apollo has it); allow: listed ids and any other document; require: listed documents only. */
export type PersistedDocumentsMode = 'off' | 'allow' | 'require';

export interface PersistedDocumentsConfig {
  mode: PersistedDocumentsMode;
  /**
   * The manifest (PERSISTED_DOCUMENTS_MANIFEST, or the committed one); null when the committed one
   * is not there: `allow` then starts with an empty list, `require` refuses to start. A path given
   * that cannot be read is an error in every mode but off.
   */
  manifestPath: string | null;
}

export const MANIFEST_FORMAT = 'apollo-persisted-query-manifest';

const operationSchema = z.object({
  id: z.string().regex(/^[0-9a-f]{64}$/, 'must be the lower-case hex SHA-256 of the body'),
  name: z.string().nullable().optional(),
  type: z.enum(['query', 'mutation', 'subscription']),
  body: z.string().min(1),
});

const manifestSchema = z.object({
  format: z.literal(MANIFEST_FORMAT),
  version: z.literal(1),
  operations: z.array(operationSchema),
});

export type ManifestOperation = z.infer<typeof operationSchema>;
export type PersistedQueryManifest = z.infer<typeof manifestSchema>;

export const sha256Hex = (text: string): string => createHash('sha256').update(text).digest('hex');

export class PersistedDocuments {
  private readonly byId: ReadonlyMap<string, ManifestOperation>;

  constructor(readonly mode: PersistedDocumentsMode, operations: readonly ManifestOperation[] = [], readonly source: string | null = null) {
    this.byId = new Map(mode === 'off' ? [] : operations.map((operation) => [operation.id, operation]));
  }

  get size(): number {
    return this.byId.size;
  }

  /** The listed body with this id (never in mode off). */
  body(id: string): string | undefined {
    return this.byId.get(id)?.body;
  }

  lists(id: unknown): boolean {
    return typeof id === 'string' && this.byId.has(id);
  }

  /** The text is, byte for byte, a listed body. */
  listsText(text: string): boolean {
    return this.byId.size > 0 && this.byId.has(sha256Hex(text));
  }
}

/** Reads and checks the manifest; every problem is a ConfigError that names the operation. */
export function loadPersistedDocuments(config: PersistedDocumentsConfig, limits: DocumentLimits): PersistedDocuments {
  if (config.mode === 'off') return new PersistedDocuments('off');
  if (config.manifestPath === null) {
    if (config.mode === 'require') throw new ConfigError(['PERSISTED_DOCUMENTS=require: no manifest (clients/persisted-query-manifest.json is missing; set PERSISTED_DOCUMENTS_MANIFEST)']);
    return new PersistedDocuments(config.mode);
  }
  let text: string;
  try {
    text = readFileSync(config.manifestPath, 'utf8');
  } catch (error) {
    throw new ConfigError([`PERSISTED_DOCUMENTS_MANIFEST: cannot read ${config.manifestPath}: ${(error as Error).message}`]);
  }
  return new PersistedDocuments(config.mode, checkManifest(text, config.manifestPath, limits), config.manifestPath);
}

/** The manifest's operations, or a ConfigError listing every problem (format, ids, bodies, limits). */
export function checkManifest(text: string, path: string, limits: DocumentLimits): ManifestOperation[] {
  const where = `PERSISTED_DOCUMENTS_MANIFEST (${path})`;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError([`${where}: not JSON: ${(error as Error).message}`]);
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((issue) => `${where}: ${issue.path.join('.') || 'manifest'}: ${issue.message}`));
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const operation of parsed.data.operations) {
    const label = `operation ${operation.name ?? '(anonymous)'} (${operation.id.slice(0, 12)}…)`;
    if (seen.has(operation.id)) problems.push(`${where}: ${label} is listed twice`);
    seen.add(operation.id);
    if (sha256Hex(operation.body) !== operation.id) problems.push(`${where}: ${label}: id is not the SHA-256 of its body`);
    let operations: OperationDefinitionNode[];
    try {
      limits.check(operation.body);
      operations = parse(operation.body, { noLocation: true }).definitions.filter((definition): definition is OperationDefinitionNode => definition.kind === Kind.OPERATION_DEFINITION);
    } catch (error) {
      if (error instanceof QueryLimitError) problems.push(`${where}: ${label} exceeds the static limit ${error.limit} (max ${error.max}${error.found === null ? '' : `, found ${error.found}`}); raise QUERY_MAX_* or change the operation`);
      else problems.push(`${where}: ${label}: ${(error as Error).message}`);
      continue;
    }
    if (operations.length !== 1) problems.push(`${where}: ${label}: its body must hold exactly one operation (found ${operations.length})`);
    else if (operations[0]!.operation !== operation.type || (operations[0]!.name?.value ?? null) !== (operation.name ?? null)) {
      problems.push(`${where}: ${label}: its body is ${operations[0]!.operation} ${operations[0]!.name?.value ?? '(anonymous)'}, not the listed ${operation.type} ${operation.name ?? '(anonymous)'}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return parsed.data.operations;
}
