import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The committed RSA-2048 fixture keys (test/fixtures/rsa-keys/, written by test/fixtures/generate-rsa-keys.ts). */
export const RSA_FIXTURE_KEYS = ['rsa-2048-1.pem', 'rsa-2048-2.pem', 'rsa-2048-3.pem', 'rsa-2048-4.pem'] as const;

const DIRECTORY = join(__dirname, '..', 'fixtures', 'rsa-keys');

/** How many fixture keys this copy of the module (a test file's, or a grouped suite's) has handed out. */
let handedOut = 0;

/**
 * An RSA key pair of `modulusLength` bits for a test: for 2048 bits each committed fixture key once,
 * in order, per copy of this module (jest loads one per suite: a test file, or a grouped suite of
 * test/suites/), so that the keys held in one copy still differ from each other; after them, and for
 * other lengths, a newly generated one.
 */
export function rsaKeyPair(modulusLength: number): { privateKey: KeyObject; publicKey: KeyObject } {
  if (modulusLength === 2048 && handedOut < RSA_FIXTURE_KEYS.length) {
    const privateKey = createPrivateKey(readFileSync(join(DIRECTORY, RSA_FIXTURE_KEYS[handedOut++])));
    return { privateKey, publicKey: createPublicKey(privateKey) };
  }
  return generateKeyPairSync('rsa', { modulusLength });
}
