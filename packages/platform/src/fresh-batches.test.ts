import { describe, expect, it } from 'vitest';
import { FreshBatches } from './fresh-batches.js';

/** A store whose reads wait for a release, recording what each read was sent for and saw. */
function heldReads() {
  let version = 1;
  const reads: Array<{ keys: string[]; contexts: readonly number[]; release: () => void }> = [];
  const batches = new FreshBatches<string, string, number>(
    (keys, contexts) =>
      new Promise((resolve) => {
        const seen = version; // the read begins when it is sent
        reads.push({ keys, contexts, release: () => resolve(new Map(keys.filter((key) => key !== 'none').map((key) => [key, `${key}@v${seen}`]))) });
      }),
  );
  return { batches, reads, write: () => version++ };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('FreshBatches', () => {
  it('loads asked for in the same tick go in one read; a key it has no value for is undefined', async () => {
    const { batches, reads } = heldReads();
    const answers = Promise.all([batches.load('a', 1), batches.load('b', 2), batches.load('a', 3), batches.load('none', 4)]);
    await tick();
    expect(reads.map((read) => read.keys)).toEqual([['a', 'b', 'none']]);
    expect(reads[0]!.contexts).toEqual([1, 2, 3, 4]);
    reads[0]!.release();
    expect(await answers).toEqual(['a@v1', 'b@v1', 'a@v1', undefined]);
  });

  it('a load while a read is out never joins it: it waits for the next, which everyone asking meanwhile shares', async () => {
    const { batches, reads, write } = heldReads();
    const first = batches.load('a', 0);
    await tick();
    write(); // a write answered while the first read is out: later callers must see it
    const later = [batches.load('a', 1), batches.load('a', 2), batches.load('b', 3)];
    await tick();
    expect(reads).toHaveLength(1); // one read out at a time
    reads[0]!.release();
    expect(await first).toBe('a@v1');
    await tick();
    expect(reads).toHaveLength(2);
    expect(reads[1]!.keys).toEqual(['a', 'b']);
    reads[1]!.release();
    expect(await Promise.all(later)).toEqual(['a@v2', 'a@v2', 'b@v2']);
  });

  it('a failed read fails its callers only; the next batch is sent all the same', async () => {
    let calls = 0;
    const batches = new FreshBatches<string, number, null>(async (keys) => {
      calls++;
      if (calls === 1) throw new Error('database away');
      return new Map(keys.map((key) => [key, calls]));
    });
    const failed = batches.load('a', null);
    const next = (async () => {
      await tick();
      return batches.load('a', null);
    })();
    await expect(failed).rejects.toThrow('database away');
    expect(await next).toBe(2);
  });
});
