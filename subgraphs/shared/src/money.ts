// Money is stored as integer minor units and shown as a decimal string plus ISO 4217 currency.
import { badUserInput } from './errors.js';

export interface Money { amount: string; currency: string }

export function money(cents: number, currency = 'USD'): Money {
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  return { amount: `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`, currency };
}

/** Parses "19.99" (at most two decimals) into 1999 minor units, or a BAD_USER_INPUT error naming `argument`. */
export function parseAmount(amount: string, argument: string): number {
  const match = /^(\d{1,9})(?:\.(\d{1,2}))?$/.exec(amount.trim());
  if (!match) throw badUserInput(`\`${argument}\` must be a decimal amount like "19.99".`, { argument });
  return Number(match[1]) * 100 + Number((match[2] ?? '').padEnd(2, '0'));
}
