import { describe, expect, it } from 'vitest';
import { Admission } from './admission.js';
import { DeadlineExceededError, withDeadline } from './deadline.js';

/** A piece of work the test ends when it chooses. */
function gate() {
  let open: () => void = () => {};
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

describe('Admission', () => {
  it('runs at most `limit` at once and hands slots over first come, first served', async () => {
    const admission = new Admission(2, 'test');
    let running = 0;
    let most = 0;
    const order: number[] = [];
    const gates = Array.from({ length: 6 }, gate);
    const done = gates.map((g, i) =>
      admission.run(async () => {
        running += 1;
        most = Math.max(most, running);
        order.push(i);
        await g.opened;
        running -= 1;
        return i;
      }),
    );
    await new Promise((resolve) => setImmediate(resolve));
    expect(order).toEqual([0, 1]);
    expect(admission.waiting).toBe(4);
    for (const g of gates) {
      g.open();
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(await Promise.all(done)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(order).toEqual([0, 1, 2, 3, 4, 5]);
    expect(most).toBe(2);
  });

  it('refuses at once, running nothing, a request the queue cannot reach before its deadline', async () => {
    const admission = new Admission(1, 'placing');
    // Teach it that the work takes about 60 ms.
    for (let i = 0; i < 12; i++) await admission.run(() => new Promise((resolve) => setTimeout(resolve, 60)));
    const slow = gate();
    const holding = [admission.run(() => slow.opened), ...Array.from({ length: 4 }, () => admission.run(() => slow.opened))];
    let ran = false;
    const started = Date.now();
    // Five ahead (about 300 ms), 200 ms left: refused now, not in 200 ms.
    const refused = withDeadline(Date.now() + 200, () => admission.run(async () => void (ran = true)));
    await expect(refused).rejects.toBeInstanceOf(DeadlineExceededError);
    expect(Date.now() - started).toBeLessThan(150);
    // With time enough it waits its turn and runs.
    const later = withDeadline(Date.now() + 5000, () => admission.run(async () => 'ran'));
    slow.open();
    await Promise.all(holding);
    expect(await later).toBe('ran');
    expect(ran).toBe(false);
  });

  it('a waiter whose deadline passes in the queue gives up then, and its slot goes to the next', async () => {
    const admission = new Admission(1, 'placing');
    const slow = gate();
    const holding = admission.run(() => slow.opened); // nothing learnt yet: no estimate, so it queues
    let ran = false;
    const expired = withDeadline(Date.now() + 50, () => admission.run(async () => void (ran = true)));
    const next = admission.run(async () => 'next'); // no deadline: waits as long as it takes
    await expect(expired).rejects.toBeInstanceOf(DeadlineExceededError);
    expect(admission.waiting).toBe(1);
    slow.open();
    await holding;
    expect(await next).toBe('next');
    expect(ran).toBe(false);
    expect(admission.waiting).toBe(0);
  });
});
