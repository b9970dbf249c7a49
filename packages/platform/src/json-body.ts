// Request bodies as Express' JSON parser reads them, for code that reads a body before Express
// does (the gateway's hit lane): the same parse, and the same answer when it is not JSON, so a
// client cannot tell which path read its request.
import type { ServerResponse } from 'node:http';

export const INVALID_JSON = 'The request body is not valid JSON.';

/** strict: an object or an array; a leading byte-order mark ignored. undefined: not JSON. */
export function parseJsonBody(raw: Buffer): unknown {
  let text = raw.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const first = /\S/.exec(text)?.[0];
  if (first !== '{' && first !== '[') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** The answer to a body that is not JSON (HTTP 400, BAD_REQUEST), as the HTTP shell gives it. */
export function sendInvalidJson(res: ServerResponse, requestId: string): void {
  const body = JSON.stringify({ errors: [{ message: INVALID_JSON, extensions: { code: 'BAD_REQUEST' } }] });
  res.writeHead(400, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), 'x-request-id': requestId }).end(body);
}
