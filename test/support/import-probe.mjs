// `node --import` this file (through NODE_OPTIONS) to record which tracing modules a process
// loads: every resolved ES module (loader hook) and CommonJS file (require) whose path names
// OpenTelemetry, Prisma's instrumentation or our SDK module is appended to IMPORT_PROBE_FILE.
import { appendFileSync } from 'node:fs';
import Module, { register } from 'node:module';

const file = process.env.IMPORT_PROBE_FILE;
const pattern = /@opentelemetry\/|@prisma\/instrumentation|import-in-the-middle|require-in-the-middle|tracing-sdk/;
if (file) {
  register(new URL('./import-probe-hooks.mjs', import.meta.url), import.meta.url, { data: { file, pattern: pattern.source } });
  const resolveFilename = Module._resolveFilename;
  Module._resolveFilename = function (...args) {
    const resolved = resolveFilename.apply(this, args);
    if (pattern.test(resolved)) appendFileSync(file, `${process.pid} cjs ${resolved}\n`);
    return resolved;
  };
}
