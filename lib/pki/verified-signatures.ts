import { verify as nodeVerify, type KeyObject } from 'node:crypto';
import { spkiDer } from './keys';
import { digestOf, ProcessMemo } from './process-memo';

/** Whether a signature verifies, by the digest of the hash name, the key's SPKI, the data and the signature. */
const signatureChecks = new ProcessMemo<boolean>(4096);

/**
 * `crypto.verify(hash, data, { key, dsaEncoding: 'der' }, signature)`, once per process for the same
 * bytes (both answers are kept: each is a function of the bytes): a command that loads the state
 * twice checks its root signatures once, and the tests' workers verify the same fixture states over
 * and over.
 */
export function verifiesOnce(hash: string, data: Uint8Array, key: KeyObject, signature: Uint8Array): boolean {
  return signatureChecks.get(digestOf(hash, spkiDer(key), data, signature), () => nodeVerify(hash, data, { key, dsaEncoding: 'der' }, signature));
}
