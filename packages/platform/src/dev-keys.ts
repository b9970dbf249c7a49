// Development key material for the embedded default: generated once and kept in
// <DATA_DIR>/dev-keys.json (mode 0600), so the gateway, the subgraphs and the token script agree
// without any setup. This file is not a PGlite database, so tools may read it while the graph runs.
// Production (NODE_ENV=production) never uses it: real keys are required there.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface DevKeys {
  /** HS256 secret for user tokens (what JWT_SECRET would be). */
  jwtSecret: string;
  /** Ed25519 key pair for forwarded identities (PEM). */
  identityPrivateKey: string;
  identityPublicKey: string;
}

export const devKeysPath = (dataDir: string): string => join(dataDir, 'dev-keys.json');

export function loadOrCreateDevKeys(dataDir: string): DevKeys {
  const path = devKeysPath(dataDir);
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as DevKeys;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const keys: DevKeys = {
    jwtSecret: randomBytes(32).toString('base64url'),
    identityPrivateKey: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    identityPublicKey: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
  };
  mkdirSync(dataDir, { recursive: true });
  // Written whole to a private file, then linked into place: a reader never sees half a file, and
  // when two processes race, the first link wins and the other uses its keys.
  const temporary = `${path}.${process.pid}.${Date.now()}`;
  writeFileSync(temporary, `${JSON.stringify(keys, null, 2)}\n`, { mode: 0o600 });
  try {
    linkSync(temporary, path);
    return keys;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return JSON.parse(readFileSync(path, 'utf8')) as DevKeys;
    throw error;
  } finally {
    unlinkSync(temporary);
  }
}
