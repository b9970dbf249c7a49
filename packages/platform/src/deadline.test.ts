import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { currentDeadline, DEADLINE_AT_HEADER, DEADLINE_HEADER, deadlineFrom, deadlineHeaders, deadlineMargin, loopDelay, withDeadline, withLatestDeadline } from './deadline.js';

const BOOT = '/proc/sys/kernel/random/boot_id';

describe('deadlines across a call', () => {
  it('counts the milliseconds granted from arrival, less the margin', () => {
    const arrived = 1_000_000;
    expect(deadlineFrom({ [DEADLINE_HEADER]: '3000' }, arrived)).toBeLessThanOrEqual(arrived + 3000 - deadlineMargin(3000));
    expect(deadlineFrom({ [DEADLINE_HEADER]: '3000' }, arrived)).toBeGreaterThan(arrived + 2000);
    expect(deadlineFrom({}, arrived)).toBeUndefined();
    expect(deadlineFrom({ [DEADLINE_HEADER]: 'soon' }, arrived)).toBeUndefined();
  });

  it.skipIf(!existsSync(BOOT))('on the same machine, a request that waited unread keeps its caller\'s deadline, not a fresh one', () => {
    const sent = Date.now();
    const headers = deadlineHeaders(3000, sent);
    expect(headers[DEADLINE_AT_HEADER]).toBe(`${sent + 3000}; clock=${readFileSync(BOOT, 'utf8').trim()}`);
    // Read 2 s after it was sent (queued behind a busy loop): 1 s left, not 3.
    const arrived = sent + 2000;
    const deadline = deadlineFrom(headers, arrived)!;
    expect(deadline).toBeLessThanOrEqual(sent + 3000 - deadlineMargin(3000));
    expect(deadline).toBeGreaterThanOrEqual(arrived);
    // Past it already: the work may not start at all.
    expect(deadlineFrom(deadlineHeaders(500, sent), sent + 4000)).toBe(sent + 4000);
  });

  it('ignores the point in time when it is read on another clock', () => {
    const arrived = Date.now();
    const headers = { [DEADLINE_HEADER]: '3000', [DEADLINE_AT_HEADER]: `${arrived - 10_000}; clock=another-machine` };
    expect(deadlineFrom(headers, arrived)).toBeGreaterThan(arrived + 2000);
  });

  it('keeps back how late the event loop has been lately', async () => {
    loopDelay(); // starts the monitor
    await new Promise((resolve) => setTimeout(resolve, 30));
    const until = Date.now() + 250;
    while (Date.now() < until); // the loop blocked for 250 ms
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(loopDelay()).toBeGreaterThanOrEqual(200);
    expect(deadlineMargin(3000, loopDelay())).toBeGreaterThanOrEqual(300 + 200);
    // At most another tenth of what was granted: a short deadline keeps most of itself.
    expect(deadlineMargin(300, loopDelay())).toBe(50 + 30);
  });
});

describe('a read shared by several callers', () => {
  it('runs under the latest of their deadlines, not the first caller\'s in force, and under none if one has none', () => {
    const now = Date.now();
    withDeadline(now + 100, () => {
      expect(withLatestDeadline([now + 100, now + 5000, now + 300], currentDeadline)).toBe(now + 5000);
      expect(withLatestDeadline([now + 100, undefined], currentDeadline)).toBeUndefined();
      expect(withLatestDeadline([], currentDeadline)).toBeUndefined();
      // Outside, the first caller's deadline is still in force.
      expect(currentDeadline()).toBe(now + 100);
    });
    // More callers than a call may take arguments.
    expect(withLatestDeadline(Array.from({ length: 200_000 }, (_, i) => now + i), currentDeadline)).toBe(now + 199_999);
  });
});
