import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { clientIp } from './client-ip.js';

const request = (peer: string, forwarded?: string) => ({ socket: { remoteAddress: peer }, headers: forwarded === undefined ? {} : { 'x-forwarded-for': forwarded } }) as unknown as IncomingMessage;

describe('client address', () => {
  it('is the peer when no proxy is trusted, whatever X-Forwarded-For claims', () => {
    expect(clientIp(request('::ffff:10.0.0.9', '1.2.3.4'), 0)).toBe('10.0.0.9');
  });

  it('behind one trusted proxy: the address that proxy saw (the last entry), not what the client wrote before it', () => {
    expect(clientIp(request('10.0.0.2', '6.6.6.6, 203.0.113.7'), 1)).toBe('203.0.113.7');
  });

  it('behind two: the entry the outer proxy added', () => {
    expect(clientIp(request('10.0.0.2', '6.6.6.6, 203.0.113.7, 10.0.0.1'), 2)).toBe('203.0.113.7');
  });

  it('garbage in the trusted position falls back to the peer', () => {
    expect(clientIp(request('10.0.0.2', 'not-an-ip'), 1)).toBe('10.0.0.2');
  });
});
