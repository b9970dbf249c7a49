// Who an anonymous client is, for its budget: its address. Behind proxies, X-Forwarded-For is
// trusted for exactly as many hops as the operator says (TRUST_PROXY_HOPS): the address that the
// outermost trusted proxy saw. Anything further left is what the client claims, and a client can
// claim anything, so it is never used.
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

export function clientIp(req: IncomingMessage, trustedHops: number): string {
  const peer = req.socket.remoteAddress ?? 'unknown';
  if (trustedHops <= 0) return normalize(peer);
  const header = req.headers['x-forwarded-for'];
  const forwarded = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',').map((part) => part.trim()).filter(Boolean);
  // The peer is the nearest proxy; each trusted hop appended the address it received from.
  const candidate = forwarded[forwarded.length - trustedHops];
  return candidate && isIP(normalize(candidate)) ? normalize(candidate) : normalize(peer);
}

/** ::ffff:1.2.3.4 and 1.2.3.4 are one client. */
function normalize(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}
