import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createMetrics } from './metrics.js';
import { LogSink } from './logger.js';

/** A stream whose reader takes nothing until `release()`, then everything (or that fails every write with `fail`). */
function stalledStream(fail?: NodeJS.ErrnoException) {
  let stalled: (() => void) | undefined;
  let reading = false;
  const stream = new Writable({
    write(_chunk, _encoding, done) {
      if (fail) return done(fail);
      if (reading) return done();
      stalled = () => done();
    },
  });
  return { stream, release: () => ((reading = true), stalled?.()) };
}

describe('LogSink', () => {
  it('drops and counts lines past its bound instead of queueing them, and drains once the reader reads', async () => {
    const { stream, release } = stalledStream();
    const sink = new LogSink(stream);
    sink.limit = 100;
    const line = `${'x'.repeat(29)}\n`; // 30 characters
    const taken = Array.from({ length: 10 }, () => sink.write(line));
    expect(taken.filter(Boolean)).toHaveLength(3); // 90 characters waiting; a fourth line would pass 100
    expect(sink.dropped).toBe(7);
    expect(stream.writableLength).toBe(90);
    expect(await sink.drain(20)).toBe(false); // the reader takes nothing: bounded, not forever
    const drained = sink.drain(1000);
    release();
    expect(await drained).toBe(true);
    expect(stream.writableLength).toBe(0);
    expect(sink.write(line)).toBe(true);
  });

  it('counts lines lost to write errors (EPIPE) and drops everything once the stream is no longer writable', async () => {
    const epipe = Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
    const { stream } = stalledStream(epipe);
    const sink = new LogSink(stream);
    sink.write('one\n');
    await new Promise((resolve) => setImmediate(resolve));
    expect(sink.dropped).toBe(1); // the failed write, counted; its error did not throw
    expect(stream.writable).toBe(false);
    expect(sink.write('two\n')).toBe(false);
    expect(sink.dropped).toBe(2);
    const waited = performance.now();
    await sink.drain(1000); // nothing more can be written: nothing to wait for
    expect(performance.now() - waited).toBeLessThan(100);
  });

  it('is counted on every registry as log_lines_dropped_total', async () => {
    const text = await createMetrics('users', { processMetrics: false }).registry.metrics();
    expect(text).toMatch(/^# TYPE log_lines_dropped_total counter$/m);
    expect(text).toMatch(/^log_lines_dropped_total\{service="users"\} \d+$/m);
  });
});
