import { createCipheriv, createDecipheriv, pbkdf2, randomBytes } from 'node:crypto';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ErrorCode, FatalError } from '@sluice/core';

const derive = promisify(pbkdf2);
// DESIGN.md §3: AES-256-GCM under a key derived by PBKDF2-SHA256, 600,000 iterations, 32-byte
// salt, 12-byte nonce, 16-byte tag. A fresh nonce for every value encrypted.
const ITERATIONS = 600_000;

interface Sealed {
  v: 1;
  salt: string;
  nonce: string;
  tag: string;
  data: string;
}

// A derivation costs 0.15–0.3 s of CPU here, and every job seals its plan when it is made and unseals
// it when it runs: one derivation each would cap a 2-core machine at a few jobs a second. So a
// process seals everything under one salt per master key (the salt defeats precomputation; one
// per value adds nothing when all values share the master key) with a fresh nonce per value —
// random 96-bit nonces are safe for 2^32 values per key — and remembers the keys it derived.
const sealing = new Map<string, { salt: Buffer; key: Promise<Buffer> }>();
const derived = new Map<string, Promise<Buffer>>();
// Salts seen when unsealing: one per process that sealed (and per key rotation); bounded anyway.
const MAX_DERIVED = 256;

function keyFor(masterKey: string, salt: Buffer): Promise<Buffer> {
  const id = `${salt.toString('base64')}\0${masterKey}`;
  let key = derived.get(id);
  if (!key) {
    if (derived.size >= MAX_DERIVED) derived.delete(derived.keys().next().value!);
    key = derive(masterKey, salt, ITERATIONS, 32, 'sha256');
    // A failed derivation is not remembered.
    key.catch(() => derived.delete(id));
    derived.set(id, key);
  }
  return key;
}

export async function seal(masterKey: string, plain: unknown): Promise<string> {
  let mine = sealing.get(masterKey);
  if (!mine) {
    const salt = randomBytes(32);
    mine = { salt, key: keyFor(masterKey, salt) };
    sealing.set(masterKey, mine);
  }
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', await mine.key, nonce);
  const data = Buffer.concat([cipher.update(JSON.stringify(plain), 'utf8'), cipher.final()]);
  const sealed: Sealed = {
    v: 1,
    salt: mine.salt.toString('base64'),
    nonce: nonce.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
    data: data.toString('base64'),
  };
  return JSON.stringify(sealed);
}

/** `what` names the value in the error a wrong master key raises (a credential, by default). */
export async function unseal(masterKey: string, text: string, what = 'a credential'): Promise<unknown> {
  const s = JSON.parse(text) as Sealed;
  const key = await keyFor(masterKey, Buffer.from(s.salt, 'base64'));
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(s.nonce, 'base64'));
  decipher.setAuthTag(Buffer.from(s.tag, 'base64'));
  try {
    const plain = Buffer.concat([decipher.update(Buffer.from(s.data, 'base64')), decipher.final()]);
    return JSON.parse(plain.toString('utf8'));
  } catch {
    throw new FatalError(
      `${what} cannot be decrypted with this master key: SLUICE_MASTER_KEY (or the key file) differs from the one it was stored with`,
      { code: ErrorCode.CONFIG },
    );
  }
}

/**
 * The master key: `SLUICE_MASTER_KEY`, or `<data-dir>/master.key`, created on first start with
 * 32 random bytes and mode 0600. Processes sharing a PostgreSQL server must share the key: set
 * SLUICE_MASTER_KEY on each.
 */
export async function loadMasterKey(dataDir: string, env = process.env): Promise<string> {
  const fromEnv = env.SLUICE_MASTER_KEY;
  if (fromEnv !== undefined) {
    if (fromEnv.length < 16) {
      throw new FatalError(
        'SLUICE_MASTER_KEY is too short: use at least 16 characters (32 random bytes, base64, is best)',
        {
          code: ErrorCode.CONFIG,
        },
      );
    }
    return fromEnv;
  }
  const file = join(dataDir, 'master.key');
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch {
    const key = randomBytes(32).toString('base64');
    await writeFile(file, `${key}\n`, { mode: 0o600, flag: 'wx' }).catch(
      async (err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      },
    );
    await chmod(file, 0o600);
    return (await readFile(file, 'utf8')).trim();
  }
}
