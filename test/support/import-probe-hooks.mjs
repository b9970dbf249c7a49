// Loader hooks of import-probe.mjs (they run on the loader thread).
import { appendFileSync } from 'node:fs';

let file;
let pattern;

export function initialize(data) {
  file = data.file;
  pattern = new RegExp(data.pattern);
}

export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  if (pattern.test(result.url)) appendFileSync(file, `${process.pid} esm ${result.url}\n`);
  return result;
}
