import { createHash } from 'node:crypto';

/*
 * An RFC 6962 / RFC 9162 Merkle tree, written for the tests from the RFC's definitions (2.1.1 MTH,
 * 2.1.3 PATH): the tests build the inclusion proofs that a tile-based log would serve, and
 * @sigstore/verify checks them.
 */

const sha256 = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest();

/** MTH of a single entry: SHA-256(0x00 ‖ entry). */
export function leafHash(entry: Buffer): Buffer {
  return sha256(Buffer.from([0x00]), entry);
}

/** The largest power of two smaller than n (n > 1). */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH(D[n]). */
export function treeHash(entries: readonly Buffer[]): Buffer {
  if (entries.length === 0) return sha256();
  if (entries.length === 1) return leafHash(entries[0]);
  const k = split(entries.length);
  return sha256(Buffer.from([0x01]), treeHash(entries.slice(0, k)), treeHash(entries.slice(k)));
}

/** PATH(m, D[n]): the audit path of entry m, from the leaf upwards. */
export function inclusionPath(index: number, entries: readonly Buffer[]): Buffer[] {
  if (entries.length <= 1) return [];
  const k = split(entries.length);
  return index < k
    ? [...inclusionPath(index, entries.slice(0, k)), treeHash(entries.slice(k))]
    : [...inclusionPath(index - k, entries.slice(k)), treeHash(entries.slice(0, k))];
}
