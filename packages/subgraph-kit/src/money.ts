// Money is stored as integer minor units and shown as a decimal string plus ISO 4217 currency.
import { badUserInput } from '@commerce/platform/errors';

export interface Money { amount: string; currency: string }

export function money(cents: number, currency = 'USD'): Money {
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  return { amount: `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`, currency };
}

/** "19.99" (at most two decimals, up to 9 integer digits) as 1999 minor units; null when it is not such an amount. */
export function amountToCents(amount: string): number | null {
  const match = /^(\d{1,9})(?:\.(\d{1,2}))?$/.exec(amount.trim());
  return match ? Number(match[1]) * 100 + Number((match[2] ?? '').padEnd(2, '0')) : null;
}

/** Like amountToCents, but a BAD_USER_INPUT error naming `argument` when it is not an amount. */
export function parseAmount(amount: string, argument: string): number {
  const cents = amountToCents(amount);
  if (cents === null) throw badUserInput(`\`${argument}\` must be a decimal amount like "19.99".`, { argument });
  return cents;
}
