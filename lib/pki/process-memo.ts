import { createHash } from 'node:crypto';

/**
 * Results that are functions of bytes alone (a parsed certificate, a public key object, whether a
 * signature verifies, whether a key file holds a certificate's key), kept for the rest of the process
 * under the digest of those bytes: a command reads the same state in several places, and the tests'
 * workers read the same fixture states hundreds of times. A changed byte is a new key, so nothing is
 * ever answered for other bytes than it was computed for. At most `limit` entries: the oldest go first.
 */
export class ProcessMemo<V> {
  private readonly entries = new Map<string, V>();

  constructor(private readonly limit: number) {}

  /** The value for `key`, computed by `compute` the first time (a throw is not kept: it throws again next time). */
  get(key: string, compute: () => V): V {
    const known = this.entries.get(key);
    if (known !== undefined || this.entries.has(key)) return known as V;
    const value = compute();
    if (this.entries.size >= this.limit) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(key, value);
    return value;
  }
}

/** The SHA-256 of the parts, each length-prefixed (so `ab`,`c` and `a`,`bc` differ): a memo key. */
export function digestOf(...parts: readonly (string | Uint8Array)[]): string {
  const hash = createHash('sha256');
  for (const part of parts) {
    const bytes = typeof part === 'string' ? Buffer.from(part, 'utf8') : part;
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    hash.update(length).update(bytes);
  }
  return hash.digest('base64');
}

