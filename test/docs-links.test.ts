// The README is short and the manual lives in docs/: every relative link between them must lead to
// a file that exists and, with a #fragment, to a heading in it (GitHub's anchors), so a section
// that moves or is renamed fails here instead of leaving a dead link.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const README_MAX_LINES = 200;

interface Link {
  line: number;
  target: string;
}

/** README.md and every Markdown file under docs/, as paths relative to the repository root. */
function markdownFiles(): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return walk(path);
      return entry.name.endsWith('.md') ? [path] : [];
    });
  return ['README.md', ...walk('docs')];
}

/** Lines outside fenced code blocks: as written, and with inline code spans blanked (links in code are not links). */
function proseLines(text: string): Array<{ line: number; raw: string; text: string }> {
  const lines: Array<{ line: number; raw: string; text: string }> = [];
  let fence: string | null = null;
  text.split('\n').forEach((raw, index) => {
    const marker = /^ {0,3}(`{3,}|~{3,})/.exec(raw)?.[1];
    if (marker !== undefined && (fence === null || (marker[0] === fence[0] && marker.length >= fence.length))) {
      fence = fence === null ? marker : null;
      return;
    }
    if (fence === null) lines.push({ line: index + 1, raw, text: raw.replace(/(`+)[^`]*?\1/g, '') });
  });
  return lines;
}

/** Inline links and images `[text](target)` and reference definitions `[id]: target`. */
function linksOf(text: string): Link[] {
  const links: Link[] = [];
  for (const { line, text: prose } of proseLines(text)) {
    for (const match of prose.matchAll(/!?\[[^\]]*\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+(?:"[^"]*"|'[^']*'|\([^)]*\)))?\s*\)/g)) {
      links.push({ line, target: (match[1] ?? '').replace(/^<|>$/g, '') });
    }
    const definition = /^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)/.exec(prose);
    if (definition) links.push({ line, target: (definition[1] ?? '').replace(/^<|>$/g, '') });
  }
  return links;
}

/** GitHub's anchor for a heading: lowercase, punctuation dropped (not - or _), spaces to -. */
function slug(heading: string): string {
  return heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // a link in a heading: its text
    .replace(/<[^>]+>/g, '') // inline HTML
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** Every anchor a file offers: its headings' slugs (repeats get -1, -2, … as on GitHub) and HTML ids. */
function anchorsOf(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const add = (heading: string) => {
    const base = slug(heading);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  };
  const lines = proseLines(text);
  lines.forEach(({ line, raw, text: prose }, index) => {
    const atx = /^ {0,3}#{1,6}(?:\s+(.*?))?(?:\s+#+)?\s*$/.exec(raw);
    if (atx) return add(atx[1] ?? '');
    const previous = lines[index - 1];
    // Setext: a paragraph line underlined with === or --- (not a table row, list item or heading).
    if (/^ {0,3}(=+|-+)\s*$/.test(prose) && previous && previous.line === line - 1 && previous.text.trim() !== '' && !/^\s*([|>#]|[-*+] |\d+[.)] )/.test(previous.text)) {
      add(previous.raw);
    }
    for (const id of prose.matchAll(/<a\s[^>]*(?:id|name)="([^"]+)"/g)) anchors.add(id[1] ?? '');
  });
  return anchors;
}

/** What is wrong with one link from `file` (relative to the repository root), or null. */
function problemOf(file: string, target: string): string | null {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) return null; // absolute URL
  const hash = target.indexOf('#');
  const pathPart = decodeURIComponent(hash === -1 ? target : target.slice(0, hash));
  const fragment = hash === -1 ? null : decodeURIComponent(target.slice(hash + 1));
  const resolved = pathPart === '' ? join(ROOT, file) : pathPart.startsWith('/') ? join(ROOT, pathPart) : resolve(ROOT, dirname(file), pathPart);
  if (!resolved.startsWith(ROOT)) return 'points outside the repository';
  if (!existsSync(resolved)) return `no file ${relative(ROOT, resolved)}`;
  if (fragment === null || fragment === '') return null;
  if (statSync(resolved).isDirectory() || !resolved.endsWith('.md')) return `#${fragment} on a file that is not Markdown`;
  if (!anchorsOf(readFileSync(resolved, 'utf8')).has(fragment)) return `no heading #${fragment} in ${relative(ROOT, resolved)}`;
  return null;
}

describe('the README and docs/', () => {
  it('link only to files and headings that exist', () => {
    const broken: string[] = [];
    let checked = 0;
    for (const file of markdownFiles()) {
      for (const { line, target } of linksOf(readFileSync(join(ROOT, file), 'utf8'))) {
        checked++;
        const problem = problemOf(file, target);
        if (problem) broken.push(`${file}:${line}: (${target}) ${problem}`);
      }
    }
    expect(broken).toEqual([]);
    expect(checked).toBeGreaterThan(20); // the extraction found the links at all
  });

  it(`keeps the README to ${README_MAX_LINES} lines`, () => {
    const lines = readFileSync(join(ROOT, 'README.md'), 'utf8').replace(/\n$/, '').split('\n').length;
    expect(lines).toBeLessThanOrEqual(README_MAX_LINES);
  });

  it('makes anchors as GitHub does', () => {
    expect(slug('Running on PostgreSQL, and as separate services')).toBe('running-on-postgresql-and-as-separate-services');
    expect(slug('Placing an order: the saga')).toBe('placing-an-order-the-saga');
    expect(slug('`bench:cache` and the [hit lane](x.md)')).toBe('benchcache-and-the-hit-lane');
    expect(slug('Signing in, and who may see what')).toBe('signing-in-and-who-may-see-what');
    expect(slug('QUERY_MAX_* — the limits')).toBe('query_max_--the-limits');
    expect([...anchorsOf('# A\n## A\ntext\n---\n```\n# not a heading\n```\nSetext\n===\n## The `x` file\n')]).toEqual(['a', 'a-1', 'text', 'setext', 'the-x-file']);
  });

  it('finds links outside code only, and reports the broken ones', () => {
    const text = '[ok](README.md) and `[code](nowhere.md)`\n```\n[fenced](nowhere.md)\n```\n[bad](docs/nowhere.md#x)\n[id]: README.md#nope\n';
    const links = linksOf(text);
    expect(links.map((link) => link.target)).toEqual(['README.md', 'docs/nowhere.md#x', 'README.md#nope']);
    expect(links.map((link) => problemOf('README.md', link.target))).toEqual([null, 'no file docs/nowhere.md', 'no heading #nope in README.md']);
  });
});
