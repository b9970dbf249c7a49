// The partners' contract: `npm run schema:check` passes on the committed schemas, and on edits of
// the published schema it refuses what partners were not warned of and lets through what they were.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type FieldDefinitionNode, type ObjectTypeDefinitionNode, parse, print, visit } from 'graphql';
import { afterAll, describe, expect, it } from 'vitest';
import { checkSchema, DEPRECATION_PERIOD_DAYS, main, parseDay, PATHS } from './schema-check.js';

const ROOT = join(import.meta.dirname, '..');
const published = readFileSync(PATHS.published, 'utf8');
const dir = mkdtempSync(join(tmpdir(), 'schema-check-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the real command line (`npm run schema:check` is `tsx scripts/schema-check.ts`). */
async function cli(args: string[]): Promise<{ code: number; stdout: string }> {
  try {
    const { stdout } = await promisify(execFile)(join(ROOT, 'node_modules', '.bin', 'tsx'), ['scripts/schema-check.ts', ...args], { cwd: ROOT });
    return { code: 0, stdout };
  } catch (error) {
    const failed = error as { code: number; stdout: string };
    return { code: failed.code, stdout: failed.stdout };
  }
}

/** A field definition, parsed from SDL. */
const fieldOf = (sdl: string): FieldDefinitionNode => (parse(`type T { ${sdl} }`).definitions[0] as ObjectTypeDefinitionNode).fields![0]!;

/** The SDL with one field of one type replaced by what `edit` returns (null removes it). */
function editField(sdl: string, typeName: string, fieldName: string, edit: (field: FieldDefinitionNode) => FieldDefinitionNode | FieldDefinitionNode[] | null): string {
  let found = false;
  const edited = visit(parse(sdl), {
    ObjectTypeDefinition(type) {
      if (type.name.value !== typeName) return undefined;
      const fields = (type.fields ?? []).flatMap((field) => {
        if (field.name.value !== fieldName) return [field];
        found = true;
        return edit(field) ?? [];
      });
      return { ...type, fields };
    },
  });
  if (!found) throw new Error(`no field ${typeName}.${fieldName} in the schema`);
  return print(edited);
}

/** Adds `@deprecated(reason: …)` to a field. */
const deprecated = (reason: string) => (field: FieldDefinitionNode): FieldDefinitionNode => ({
  ...field,
  directives: [...(field.directives ?? []), ...fieldOf(`f: Int @deprecated(reason: ${JSON.stringify(reason)})`).directives!],
});
const withoutStock = editField(published, 'Product', 'stock', () => null);
const NOW = '2026-12-02';

describe('npm run schema:check', () => {
  it('passes on the committed schemas: schema/api.graphql keeps the published contract (exit 0)', async () => {
    const { code, stdout } = await cli([]);
    expect(stdout).toContain('schema/api.graphql against schema/published/api.graphql');
    expect(code).toBe(0);
  });

  it('fails (exit 1) when a field partners use is removed without notice, naming it', async () => {
    const current = join(dir, 'removed.graphql');
    writeFileSync(current, withoutStock);
    const { code, stdout } = await cli(['--schema', current, '--now', NOW]);
    expect(stdout).toMatch(/breaking\s+Field 'stock' was removed from object type 'Product' — REFUSED: Product\.stock was not @deprecated/);
    expect(stdout).toContain('FAILED: 1 breaking change(s)');
    expect(code).toBe(1);
  });

  it(`lets the removal through once the field was deprecated \`since\` a date at least ${DEPRECATION_PERIOD_DAYS} days ago`, async () => {
    const old = editField(published, 'Product', 'stock', deprecated('Use `availability`; since 2026-08-01.'));
    const check = await checkSchema(old, withoutStock, { now: NOW });
    expect(check.refused).toEqual([]);
    expect(check.changes).toContainEqual(expect.objectContaining({ classification: 'breaking', path: 'Product.stock', verdict: { allowed: true, why: expect.stringContaining('since 2026-08-01, 123 days ago') } }));
    // The same through the command line: exit 0.
    writeFileSync(join(dir, 'deprecated-long-ago.graphql'), old);
    writeFileSync(join(dir, 'current.graphql'), withoutStock);
    const lines: string[] = [];
    expect(await main(['--published', join(dir, 'deprecated-long-ago.graphql'), '--schema', join(dir, 'current.graphql'), '--now', NOW], (line) => lines.push(line))).toBe(0);
    expect(lines.join('\n')).toContain('allowed: Product.stock deprecated since 2026-08-01');
  });

  it('refuses it when the deprecation is too recent, and says from when it may go', async () => {
    const old = editField(published, 'Product', 'stock', deprecated('Use `availability` (since 2026-11-01).'));
    const check = await checkSchema(old, withoutStock, { now: NOW });
    expect(check.refused.map((change) => change.verdict?.why)).toEqual([`Product.stock deprecated since 2026-11-01, only 31 days ago: removable from 2027-01-30 (the period is ${DEPRECATION_PERIOD_DAYS} days)`]);
    // …and --now moves the day: on 2027-01-30 it passes.
    expect((await checkSchema(old, withoutStock, { now: '2027-01-30' })).refused).toEqual([]);
  });

  it('refuses a deprecation without a date: the period has to start somewhere', async () => {
    const old = editField(published, 'Product', 'stock', deprecated('Use availability.'));
    const [refused] = (await checkSchema(old, withoutStock, { now: NOW })).refused;
    expect(refused?.verdict?.why).toMatch(/names no date/);
  });

  it('classifies a new optional field as safe, a new enum value as dangerous, and fails on neither', async () => {
    const added = editField(published, 'Product', 'stock', (field) => [field, fieldOf('"""Shipping weight, in grams."""\n weightGrams: Int')]).replace(/^(enum OrderStatus \{\n)/m, '$1  """Sent to the buyer."""\n  SHIPPED\n');
    const check = await checkSchema(published, added, { now: NOW });
    expect(check.changes).toContainEqual(expect.objectContaining({ classification: 'safe', path: 'Product.weightGrams' }));
    expect(check.changes).toContainEqual(expect.objectContaining({ classification: 'dangerous', path: 'OrderStatus.SHIPPED' }));
    expect(check.refused).toEqual([]);
  });

  it('lets a type go only when everything that names it may go', async () => {
    const old = 'type Query { """x""" legacy: Legacy @deprecated(reason: "since 2026-01-01") now: Int }\ntype Legacy { a: Int }';
    expect((await checkSchema(old, 'type Query { now: Int }', { now: NOW })).refused).toEqual([]);
    const inUse = 'type Query { legacy: Legacy @deprecated(reason: "since 2026-01-01") other: Legacy now: Int }\ntype Legacy { a: Int }';
    const [refused] = (await checkSchema(inUse, 'type Query { now: Int }', { now: NOW })).refused;
    expect(refused?.verdict?.why).toBe('Legacy is still in use: Query.other was not @deprecated in the published schema');
  });

  it('reads --now strictly', async () => {
    expect(parseDay('2026-02-30')).toBeNull();
    expect(await main(['--now', 'tomorrow'], () => {})).toBe(2);
  });
});

describe('npm run schema:publish', () => {
  it('copies the schema to published/ and appends one dated, classified line per change', async () => {
    const files = { schema: join(dir, 'api.graphql'), published: join(dir, 'published.graphql'), changelog: join(dir, 'CHANGELOG.md') };
    writeFileSync(files.published, published);
    writeFileSync(files.changelog, '# Schema changelog\n\n');
    writeFileSync(files.schema, withoutStock);
    const args = ['--publish', '--schema', files.schema, '--published', files.published, '--changelog', files.changelog, '--now', NOW];
    const quiet = () => {};
    // Refused without notice; --force publishes and says so.
    expect(await main(args, quiet)).toBe(1);
    expect(readFileSync(files.published, 'utf8')).toBe(published);
    expect(await main([...args, '--force'], quiet)).toBe(0);
    expect(readFileSync(files.published, 'utf8')).toBe(withoutStock);
    expect(readFileSync(files.changelog, 'utf8')).toBe("# Schema changelog\n\n- 2026-12-02 · breaking (forced, without notice) · Field 'stock' was removed from object type 'Product' (`Product.stock`)\n");
    // Nothing new: nothing appended.
    expect(await main(args, quiet)).toBe(0);
    expect(readFileSync(files.changelog, 'utf8').split('\n').filter((line) => line.startsWith('- '))).toHaveLength(1);
  });
});
