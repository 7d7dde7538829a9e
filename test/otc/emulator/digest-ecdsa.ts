import { createECDH, randomBytes, type KeyObject } from 'node:crypto';
import { childrenOf, contentOf, expectTag, readWhole, TAG } from '../../../lib/pki/der';

/*
 * ECDSA over a digest the caller computed, as KMS does for `message_type: DIGEST`. Node's sign() only
 * signs messages (it hashes them itself), so the emulator does the ECDSA arithmetic here: the scalar
 * multiplication k·G comes from OpenSSL through ECDH (the "public key" of k), the rest is
 * s = k⁻¹(z + r·d) mod n (FIPS 186-5 §6.4.1). The result is checked by node:crypto verify in the tests.
 */

export type EmulatedCurve = 'P-256' | 'P-384';

const CURVES: Record<EmulatedCurve, { readonly ecdhName: string; readonly bytes: number; readonly order: bigint }> = {
  'P-256': { ecdhName: 'prime256v1', bytes: 32, order: BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551') },
  'P-384': {
    ecdhName: 'secp384r1',
    bytes: 48,
    order: BigInt('0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973'),
  },
};

/** Signs `digest` with the EC private key; returns raw r‖s (IEEE P1363). */
export function signDigest(privateKey: KeyObject, curve: EmulatedCurve, digest: Buffer): Buffer {
  const { ecdhName, bytes, order } = CURVES[curve];
  const d = toBigInt(privateScalar(privateKey));
  // z: the leftmost bits of the digest, as many as the order has (FIPS 186-5 §6.4.1 step 4).
  const z = toBigInt(digest.subarray(0, bytes));
  for (;;) {
    const k = (toBigInt(randomBytes(bytes + 8)) % (order - 1n)) + 1n;
    const ecdh = createECDH(ecdhName);
    ecdh.setPrivateKey(toBytes(k, bytes));
    const point = ecdh.getPublicKey(); // 04 ‖ x ‖ y
    const r = toBigInt(point.subarray(1, 1 + bytes)) % order;
    if (r === 0n) continue;
    const s = (modPow(k, order - 2n, order) * ((z + r * d) % order)) % order;
    if (s === 0n) continue;
    return Buffer.concat([toBytes(r, bytes), toBytes(s, bytes)]);
  }
}

/**
 * The private scalar d, from the key's SEC1 DER (RFC 5915: ECPrivateKey's privateKey OCTET STRING).
 * Not from a JWK export: Node 20.20 can deadlock exporting a generated key as JWK (lib/pki/keys.ts).
 */
function privateScalar(privateKey: KeyObject): Buffer {
  const [, scalar] = childrenOf(expectTag(readWhole(privateKey.export({ type: 'sec1', format: 'der' })), TAG.sequence, 'ECPrivateKey'));
  return Buffer.from(contentOf(expectTag(scalar, TAG.octetString, 'ECPrivateKey.privateKey')));
}

/** Raw r‖s → DER ECDSA-Sig-Value (independent of the product's encoder). */
export function rawToDer(raw: Buffer): Buffer {
  const half = raw.length / 2;
  const integer = (bytes: Buffer) => {
    let start = 0;
    while (start < bytes.length - 1 && bytes[start] === 0) start++;
    let body = bytes.subarray(start);
    if (body[0] & 0x80) body = Buffer.concat([Buffer.from([0]), body]);
    return Buffer.concat([Buffer.from([0x02, body.length]), body]);
  };
  const content = Buffer.concat([integer(raw.subarray(0, half)), integer(raw.subarray(half))]);
  const length = content.length < 0x80 ? Buffer.from([content.length]) : Buffer.from([0x81, content.length]);
  return Buffer.concat([Buffer.from([0x30]), length, content]);
}

function toBigInt(bytes: Buffer): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${bytes.toString('hex')}`);
}

function toBytes(value: bigint, length: number): Buffer {
  return Buffer.from(value.toString(16).padStart(length * 2, '0'), 'hex');
}

function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  let b = base % modulus;
  let e = exponent;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % modulus;
    b = (b * b) % modulus;
    e >>= 1n;
  }
  return result;
}
