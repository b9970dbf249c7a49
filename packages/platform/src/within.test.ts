import { describe, expect, it } from 'vitest';
import { within } from './within.js';

describe('within', () => {
  it('passes the outcome through when it comes in time', async () => {
    await expect(within(Promise.resolve(42), 50, 'store')).resolves.toBe(42);
    await expect(within(Promise.reject(new Error('refused')), 50, 'store')).rejects.toThrow('refused');
  });

  it('gives up after ms with an error that names what did not answer', async () => {
    const started = Date.now();
    await expect(within(new Promise(() => {}), 30, 'the bus')).rejects.toThrow('the bus did not answer within 30 ms');
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
  });
});
