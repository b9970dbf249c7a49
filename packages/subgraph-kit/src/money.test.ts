import { describe, expect, it } from 'vitest';
import { money, parseAmount } from './money.js';

describe('money', () => {
  it('shows minor units as a decimal string', () => {
    expect(money(1999)).toEqual({ amount: '19.99', currency: 'USD' });
    expect(money(5, 'EUR')).toEqual({ amount: '0.05', currency: 'EUR' });
    expect(money(0).amount).toBe('0.00');
    expect(money(-250).amount).toBe('-2.50');
    expect(money(123456789).amount).toBe('1234567.89');
  });

  it('parses decimal amounts and rejects anything else as BAD_USER_INPUT', () => {
    expect(parseAmount('19.99', 'x')).toBe(1999);
    expect(parseAmount('10', 'x')).toBe(1000);
    expect(parseAmount('0.5', 'x')).toBe(50);
    expect(parseAmount(' 7.00 ', 'x')).toBe(700);
    for (const bad of ['', 'ten', '1.999', '-1', '1e3', '1,50', '.5', '1234567890']) {
      expect(() => parseAmount(bad, 'filter.minPrice')).toThrow(expect.objectContaining({ extensions: expect.objectContaining({ code: 'BAD_USER_INPUT', argument: 'filter.minPrice' }) }));
    }
  });
});
