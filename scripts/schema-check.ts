// npm run schema:check: the public schema (schema/api.graphql, written by `npm run compose`)
// against what partners were given (schema/published/api.graphql). Every change is printed,
// classified by @graphql-inspector/core as breaking, dangerous or safe; the check fails (exit 1) on
// a breaking change, unless what it removes or changes was @deprecated in the published schema
// with a reason saying `since YYYY-MM-DD` at least DEPRECATION_PERIOD_DAYS before today (or
// `--now YYYY-MM-DD`): the notice partners were promised (docs/partners.md#deprecation-policy).
//
// npm run schema:publish (`--publish`): the same check, then the schema is copied to published/
// and each change is appended to schema/CHANGELOG.md, one line with its date and classification.
// A publish that the check refuses needs `--force` (and the changelog says it was forced).
//
// Exit codes: 0 passed (or published), 1 refused, 2 bad usage or a schema that does not parse.
import { appendFileSync, copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Change, CriticalityLevel, diff } from '@graphql-inspector/core';
import {
  buildSchema,
  type GraphQLArgument,
  type GraphQLNamedType,
  type GraphQLSchema,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isIntrospectionType,
  isObjectType,
  isUnionType,
} from 'graphql';

const ROOT = join(import.meta.dirname, '..');

/** How long a deprecated element stays before it may be removed or changed incompatibly. */
export const DEPRECATION_PERIOD_DAYS = 90;

export const PATHS = {
  schema: join(ROOT, 'schema', 'api.graphql'),
  published: join(ROOT, 'schema', 'published', 'api.graphql'),
  changelog: join(ROOT, 'schema', 'CHANGELOG.md'),
} as const;

export type Classification = 'breaking' | 'dangerous' | 'safe';

export interface CheckedChange {
  classification: Classification;
  message: string;
  /** The schema coordinate, e.g. `Product.stock` or `Query.products.first`. */
  path: string | null;
  type: string;
  /** A breaking change: why it may ship (the notice was given) or why it may not. */
  verdict?: { allowed: boolean; why: string };
}

export interface SchemaCheck {
  changes: CheckedChange[];
  /** The breaking changes that may not ship. */
  refused: CheckedChange[];
  now: string;
  periodDays: number;
}

export interface CheckOptions {
  /** Today, as YYYY-MM-DD (UTC); default the real today. */
  now?: string;
  periodDays?: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const SINCE = /\bsince (\d{4}-\d{2}-\d{2})\b/i;

/** A YYYY-MM-DD date as a UTC midnight, or null when it is not a real date. */
export function parseDay(text: string): Date | null {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return null;
  const day = new Date(`${text}T00:00:00Z`);
  return Number.isNaN(day.getTime()) || day.toISOString().slice(0, 10) !== text ? null : day;
}

const today = (): string => new Date().toISOString().slice(0, 10);

const CLASSIFICATION: Record<CriticalityLevel, Classification> = {
  [CriticalityLevel.Breaking]: 'breaking',
  [CriticalityLevel.Dangerous]: 'dangerous',
  [CriticalityLevel.NonBreaking]: 'safe',
};

export async function checkSchema(publishedSdl: string, currentSdl: string, options: CheckOptions = {}): Promise<SchemaCheck> {
  const now = options.now ?? today();
  const nowDay = parseDay(now);
  if (!nowDay) throw new UsageError(`--now ${now}: not a date (YYYY-MM-DD)`);
  const periodDays = options.periodDays ?? DEPRECATION_PERIOD_DAYS;
  const published = buildSchema(publishedSdl);
  const current = buildSchema(currentSdl);
  const notice = (reason: string | null | undefined, what: string): { allowed: boolean; why: string } => {
    const since = reason ? SINCE.exec(reason)?.[1] : undefined;
    if (reason === null || reason === undefined) return { allowed: false, why: `${what} was not @deprecated in the published schema` };
    const sinceDay = since ? parseDay(since) : null;
    if (!since || !sinceDay) return { allowed: false, why: `${what} is @deprecated, but its reason names no date ("since YYYY-MM-DD"): "${reason}"` };
    const days = Math.floor((nowDay.getTime() - sinceDay.getTime()) / DAY_MS);
    const from = new Date(sinceDay.getTime() + periodDays * DAY_MS).toISOString().slice(0, 10);
    return days >= periodDays
      ? { allowed: true, why: `${what} deprecated since ${since}, ${days} days ago (the period is ${periodDays})` }
      : { allowed: false, why: `${what} deprecated since ${since}, only ${days} days ago: removable from ${from} (the period is ${periodDays} days)` };
  };
  const verdictOf = (path: string | null): { allowed: boolean; why: string } => {
    if (!path) return { allowed: false, why: 'the change names no schema element' };
    const [typeName, fieldName, argName] = path.split('.');
    const type = published.getType(typeName!);
    if (!type) return { allowed: false, why: `${typeName} is new` };
    if (fieldName === undefined) return typeVerdict(published, type, (element, reason) => notice(reason, element));
    // The most specific element that existed decides: a deprecated argument, or the deprecated
    // field it belongs to (changing anything about a field on its way out is fair).
    const element = elementOf(type, fieldName, argName);
    if (!element) return { allowed: false, why: `${path} did not exist in the published schema` };
    if (argName !== undefined && element.arg?.deprecationReason) return notice(element.arg.deprecationReason, `${typeName}.${fieldName}(${argName})`);
    return notice(element.member.deprecationReason, `${typeName}.${fieldName}`);
  };
  const changes = (await diff(published, current)).map((change: Change): CheckedChange => {
    const classification = CLASSIFICATION[change.criticality.level];
    const checked: CheckedChange = { classification, message: change.message, path: change.path ?? null, type: change.type };
    if (classification === 'breaking') checked.verdict = verdictOf(checked.path);
    return checked;
  });
  return { changes, refused: changes.filter((change) => change.verdict && !change.verdict.allowed), now, periodDays };
}

interface Element {
  member: { deprecationReason?: string | null | undefined };
  arg?: GraphQLArgument;
}

/** A field (with one of its arguments), input field or enum value of a published type. */
function elementOf(type: GraphQLNamedType, name: string, argName: string | undefined): Element | null {
  if (isObjectType(type) || isInterfaceType(type)) {
    const field = type.getFields()[name];
    if (!field) return null;
    return { member: field, ...(argName === undefined ? {} : { arg: field.args.find((arg) => arg.name === argName) }) };
  }
  if (isInputObjectType(type)) {
    const field = type.getFields()[name];
    return field ? { member: field } : null;
  }
  if (isEnumType(type)) {
    const value = type.getValue(name);
    return value ? { member: value } : null;
  }
  return null;
}

/**
 * A type cannot be deprecated itself: it may go when every field, argument and input field that
 * names it in the published schema may go. A union member or an interface's implementation may
 * appear in `... on` fragments whatever field returned it, so those never may.
 */
function typeVerdict(schema: GraphQLSchema, target: GraphQLNamedType, notice: (element: string, reason: string | null | undefined) => { allowed: boolean; why: string }): { allowed: boolean; why: string } {
  if ([schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].includes(target as never)) return { allowed: false, why: `${target.name} is a root type` };
  const verdicts: Array<{ allowed: boolean; why: string }> = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (isIntrospectionType(type)) continue;
    if (isUnionType(type) && type.getTypes().includes(target as never)) verdicts.push({ allowed: false, why: `${target.name} is a member of the union ${type.name}` });
    if ((isObjectType(type) || isInterfaceType(type)) && type.getInterfaces().includes(target as never)) verdicts.push({ allowed: false, why: `${type.name} implements ${target.name}` });
    if (target !== type && (isObjectType(target) || isInterfaceType(target)) && target.getInterfaces().includes(type as never)) verdicts.push({ allowed: false, why: `${target.name} implements ${type.name}` });
    if (isObjectType(type) || isInterfaceType(type)) {
      for (const field of Object.values(type.getFields())) {
        if (getNamedType(field.type) === target) verdicts.push(notice(`${type.name}.${field.name}`, field.deprecationReason));
        for (const arg of field.args) if (getNamedType(arg.type) === target) verdicts.push(notice(`${type.name}.${field.name}(${arg.name})`, arg.deprecationReason ?? field.deprecationReason));
      }
    }
    if (isInputObjectType(type)) {
      for (const field of Object.values(type.getFields())) if (getNamedType(field.type) === target) verdicts.push(notice(`${type.name}.${field.name}`, field.deprecationReason));
    }
  }
  const refused = verdicts.find((verdict) => !verdict.allowed);
  if (refused) return { allowed: false, why: `${target.name} is still in use: ${refused.why}` };
  return { allowed: true, why: verdicts.length === 0 ? `nothing in the published schema names ${target.name}` : `every use of ${target.name} may go: ${verdicts.map((verdict) => verdict.why).join('; ')}` };
}

export function formatCheck(check: SchemaCheck, label: string): string {
  const lines = [`${label} (deprecation period ${check.periodDays} days, today ${check.now})`];
  const order: Classification[] = ['breaking', 'dangerous', 'safe'];
  const sorted = [...check.changes].sort((a, b) => order.indexOf(a.classification) - order.indexOf(b.classification));
  for (const change of sorted) {
    const verdict = change.verdict ? ` — ${change.verdict.allowed ? 'allowed' : 'REFUSED'}: ${change.verdict.why}` : '';
    lines.push(`  ${change.classification.padEnd(9)} ${change.message}${verdict}`);
  }
  const count = (classification: Classification) => check.changes.filter((change) => change.classification === classification).length;
  lines.push(
    check.changes.length === 0
      ? 'no changes'
      : `${check.changes.length} change(s): ${count('breaking')} breaking (${check.refused.length} refused), ${count('dangerous')} dangerous, ${count('safe')} safe`,
  );
  if (check.refused.length > 0) lines.push(`FAILED: ${check.refused.length} breaking change(s) without the notice partners were promised (docs/partners.md#deprecation-policy)`);
  return lines.join('\n');
}

/** Changelog lines for a publish: one per change, dated and classified. */
export function changelogLines(check: SchemaCheck, forced: boolean): string[] {
  return check.changes.map((change) => {
    const refused = forced && change.verdict && !change.verdict.allowed ? ' (forced, without notice)' : '';
    return `- ${check.now} · ${change.classification}${refused} · ${change.message}${change.path ? ` (\`${change.path}\`)` : ''}`;
  });
}

export class UsageError extends Error {}

interface Args {
  now?: string;
  schema: string;
  published: string;
  changelog: string;
  publish: boolean;
  force: boolean;
}

export function parseArgs(argv: string[]): Args {
  const args: Args = { schema: PATHS.schema, published: PATHS.published, changelog: PATHS.changelog, publish: false, force: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = () => {
      const next = argv[++i];
      if (next === undefined) throw new UsageError(`${flag} needs a value`);
      return next;
    };
    if (flag === '--now') args.now = value();
    else if (flag === '--schema') args.schema = value();
    else if (flag === '--published') args.published = value();
    else if (flag === '--changelog') args.changelog = value();
    else if (flag === '--publish') args.publish = true;
    else if (flag === '--force') args.force = true;
    else throw new UsageError(`unknown argument ${flag} (use --now YYYY-MM-DD, --schema FILE, --published FILE, --changelog FILE, --publish, --force)`);
  }
  return args;
}

/** The command line: returns the exit code. */
export async function main(argv: string[], out: (line: string) => void = console.log): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (error) {
    out(`schema:check: ${(error as Error).message}`);
    return 2;
  }
  const shown = (file: string) => (file.startsWith(ROOT) ? relative(ROOT, file) : file);
  const currentSdl = readFileSync(args.schema, 'utf8');
  if (args.publish && !existsSync(args.published)) {
    mkdirSync(dirname(args.published), { recursive: true });
    copyFileSync(args.schema, args.published);
    appendFileSync(args.changelog, `- ${args.now ?? today()} · published · the first contract: ${shown(args.schema)} copied to ${shown(args.published)}\n`);
    out(`published ${shown(args.schema)} to ${shown(args.published)} (the first contract)`);
    return 0;
  }
  let check: SchemaCheck;
  try {
    check = await checkSchema(readFileSync(args.published, 'utf8'), currentSdl, args.now === undefined ? {} : { now: args.now });
  } catch (error) {
    out(`schema:check: ${(error as Error).message}`);
    return 2;
  }
  out(formatCheck(check, `${shown(args.schema)} against ${shown(args.published)}`));
  if (!args.publish) return check.refused.length > 0 ? 1 : 0;
  if (check.refused.length > 0 && !args.force) {
    out('not published: the check refuses it (--force publishes anyway, and the changelog says so)');
    return 1;
  }
  if (check.changes.length === 0 && readFileSync(args.published, 'utf8') === currentSdl) {
    out('nothing to publish');
    return 0;
  }
  copyFileSync(args.schema, args.published);
  const lines = changelogLines(check, args.force);
  // Descriptions alone (no classified change) still make a new contract worth dating.
  appendFileSync(args.changelog, `${(lines.length > 0 ? lines : [`- ${check.now} · safe · descriptions or ordering only`]).join('\n')}\n`);
  out(`published ${shown(args.schema)} to ${shown(args.published)}; ${Math.max(1, lines.length)} line(s) appended to ${shown(args.changelog)}`);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
