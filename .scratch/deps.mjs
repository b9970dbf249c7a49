import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
const root = process.cwd();
const pkgJson = JSON.parse(readFileSync('package.json','utf8'));
const dirs = [];
for (const w of pkgJson.workspaces) { if (w.endsWith('/*')) { for (const d of readdirSync(w.slice(0,-2))) dirs.push(join(w.slice(0,-2), d)); } else dirs.push(w); }
const builtin = new Set(['node:']);
for (const dir of dirs) {
  const pj = JSON.parse(readFileSync(join(dir,'package.json'),'utf8'));
  const declared = new Set(Object.keys(pj.dependencies ?? {}));
  const used = new Set();
  const walk = (d) => { for (const f of readdirSync(d, { withFileTypes: true })) { const p = join(d, f.name); if (f.isDirectory()) { if (!['node_modules','migrations'].includes(f.name)) walk(p); } else if (/\.(ts|mts|mjs|js)$/.test(f.name) && !/\.test\.ts$/.test(f.name)) { const src = readFileSync(p,'utf8'); for (const m of src.matchAll(/(?:from|import)\s*\(?\s*['"]([^'".][^'"]*)['"]/g)) { const s = m[1]; if (s.startsWith('node:')) continue; const name = s.startsWith('@') ? s.split('/').slice(0,2).join('/') : s.split('/')[0]; used.add(name); } } } };
  walk(dir);
  const undeclared = [...used].filter((n) => !declared.has(n) && n !== pj.name);
  const unused = [...declared].filter((n) => !used.has(n));
  console.log(dir, 'undeclared:', undeclared.join(' '), '| unused:', unused.join(' '));
}
