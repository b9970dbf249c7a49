// The secrets a graph runs with, fresh for every graph a test or benchmark starts: nothing shared
// between runs, nothing committed.
import { generateKeyPairSync, randomBytes } from 'node:crypto';

export interface GraphKeys {
  /** HS256 secret the gateways verify user tokens with. */
  jwtSecret: string;
  /** Ed25519 pair (PEM): the gateways sign forwarded identities, the subgraphs verify them. */
  identityPrivateKey: string;
  identityPublicKey: string;
}

export function generateKeys(): GraphKeys {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    jwtSecret: randomBytes(32).toString('base64url'),
    identityPrivateKey: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    identityPublicKey: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
  };
}
