import { SignerError } from '../errors';
import { TAG, childrenOf, contentOf, expectTag, readWhole } from './der';
import { derSequence, derUnsignedInteger } from './der-writer';
import type { Curve } from './keys';

/** Bytes of one coordinate (and of r and s in the raw form) per curve. */
const COORDINATE_BYTES: Record<Curve, number> = { 'P-256': 32, 'P-384': 48 };

/**
 * Returns an ECDSA signature as DER `ECDSA-Sig-Value` (what X.509 needs), whichever form a KMS
 * returned: DER (kept as is when it is strict DER, parsed to the last byte) or IEEE P1363 raw r‖s
 * (exactly twice the coordinate length; re-encoded). OTC does not document which one it sends.
 * Anything else throws SIGNATURE_INVALID. The result must still be verified against the public key.
 */
export function normalizeEcdsaSignature(signature: Uint8Array, curve: Curve, keyRef: string): Buffer {
  const bytes = Buffer.from(signature);
  const der = strictDer(bytes, curve);
  if (der) return der;
  if (bytes.length === 2 * COORDINATE_BYTES[curve]) {
    const half = COORDINATE_BYTES[curve];
    return encodeDer(bytes.subarray(0, half), bytes.subarray(half));
  }
  throw new SignerError(
    'SIGNATURE_INVALID',
    `signer ${keyRef} returned ${bytes.length} bytes that are neither a DER ECDSA signature nor a raw ${curve} r‖s ` +
      `signature (${2 * COORDINATE_BYTES[curve]} bytes)`,
  );
}

/** The DER encoding of (r, s): minimal positive INTEGERs in a SEQUENCE. */
export function encodeDer(r: Uint8Array, s: Uint8Array): Buffer {
  return derSequence(derUnsignedInteger(r), derUnsignedInteger(s));
}

function strictDer(bytes: Buffer, curve: Curve): Buffer | undefined {
  if (bytes[0] !== 0x30) return undefined;
  let r: Buffer;
  let s: Buffer;
  try {
    // ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } (RFC 5480 §2.2.3)
    const fields = childrenOf(readWhole(bytes));
    if (fields.length !== 2) return undefined;
    [r, s] = fields.map((field, index) => Buffer.from(contentOf(expectTag(field, TAG.integer, index === 0 ? 'r' : 's'))));
  } catch {
    return undefined;
  }
  const limit = COORDINATE_BYTES[curve] + 1;
  if (r.length > limit || s.length > limit) return undefined;
  // Strict: re-encoding the minimal form gives back exactly the input (no trailing bytes, no padding,
  // no negative number).
  const canonical = encodeDer(r, s);
  return canonical.equals(bytes) ? canonical : undefined;
}
