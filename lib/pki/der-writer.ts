import { TAG, contextTag } from './der';

/**
 * The few DER encodings (ITU-T X.690 §8 and §10) that a certificate is written with: the builder
 * (lib/pki/certificate-builder.ts) frames the key from node:crypto and the names and extensions of
 * lib/pki/certificate-fields.ts. Each function returns the whole element, tag and definite minimal
 * length included. lib/pki/der.ts reads what this writes.
 */

/** One element: `tag`, the minimal definite length of `contents` (X.690 §8.1.3, §10.1), the contents. */
export function derElement(tag: number, ...contents: readonly Uint8Array[]): Buffer {
  const body = Buffer.concat(contents);
  return Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);
}

/** A SEQUENCE of elements that are already DER. */
export function derSequence(...elements: readonly Uint8Array[]): Buffer {
  return derElement(TAG.sequence, ...elements);
}

/** A SET OF elements that are already DER, in DER's order (X.690 §11.6: by their encodings). */
export function derSetOf(...elements: readonly Uint8Array[]): Buffer {
  return derElement(TAG.set, ...[...elements].sort((a, b) => Buffer.compare(a, b)));
}

/** `[n]` IMPLICIT of a primitive type: `bytes` as the contents (an AuthorityKeyIdentifier's keyIdentifier). */
export function derImplicitPrimitive(n: number, bytes: Uint8Array): Buffer {
  return derElement(0x80 | n, bytes);
}

/** A BOOLEAN (X.690 §11.1: true is 0xff). */
export function derBoolean(value: boolean): Buffer {
  return derElement(TAG.boolean, Buffer.from([value ? 0xff : 0x00]));
}

/** An OCTET STRING. */
export function derOctetString(bytes: Uint8Array): Buffer {
  return derElement(TAG.octetString, bytes);
}

/**
 * A named-bit BIT STRING (X.690 §11.2.2: trailing zero bits removed), from the numbers of the bits
 * that are set (bit 0 is the first, most significant, bit), as KeyUsage's are.
 */
export function derNamedBits(bits: readonly number[]): Buffer {
  if (bits.some((bit) => !Number.isInteger(bit) || bit < 0 || bit > 63)) throw new RangeError(`derNamedBits: ${bits.join(', ')} are not bit numbers in 0..63`);
  if (bits.length === 0) return derElement(TAG.bitString, Buffer.from([0]));
  const last = Math.max(...bits);
  const bytes = Buffer.alloc(Math.floor(last / 8) + 1);
  for (const bit of bits) bytes[bit >> 3] |= 0x80 >> (bit & 7);
  return derElement(TAG.bitString, Buffer.from([7 - (last & 7)]), bytes);
}

/** `[n]` EXPLICIT around one element that is already DER. */
export function derExplicit(n: number, element: Uint8Array): Buffer {
  return derElement(contextTag(n), element);
}

/**
 * An INTEGER from the big-endian bytes of a non-negative number: leading zero bytes dropped, one
 * zero byte put back when the first bit is set (X.690 §8.3.2: minimal, two's complement).
 */
export function derUnsignedInteger(bytes: Uint8Array): Buffer {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const trimmed = bytes.subarray(start);
  if (trimmed.length === 0) return derElement(TAG.integer, Buffer.from([0]));
  return derElement(TAG.integer, trimmed[0] & 0x80 ? Buffer.from([0]) : Buffer.alloc(0), trimmed);
}

/** A small non-negative INTEGER (a version number). */
export function derSmallInteger(value: number): Buffer {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff) throw new RangeError(`derSmallInteger: ${value} is not an integer in 0..65535`);
  return derUnsignedInteger(Buffer.from([value >> 8, value & 0xff]));
}

/** A BIT STRING of whole bytes (no unused bits), as a signature value is. */
export function derBitString(bytes: Uint8Array): Buffer {
  return derElement(TAG.bitString, Buffer.from([0]), bytes);
}

/** An OBJECT IDENTIFIER from its dotted form (X.690 §8.19: the first two arcs in one, base 128). */
export function derOid(dotted: string): Buffer {
  const arcs = dotted.split('.').map((arc) => (/^(0|[1-9][0-9]*)$/.test(arc) ? Number(arc) : Number.NaN));
  if (arcs.length < 2 || arcs.some((arc) => !Number.isSafeInteger(arc)) || arcs[0] > 2 || (arcs[0] < 2 && arcs[1] > 39)) {
    throw new RangeError(`derOid: "${dotted}" is not an object identifier`);
  }
  const bytes: number[] = [];
  for (const arc of [arcs[0] * 40 + arcs[1], ...arcs.slice(2)]) {
    const groups = [arc % 128];
    for (let rest = Math.floor(arc / 128); rest > 0; rest = Math.floor(rest / 128)) groups.unshift((rest % 128) | 0x80);
    bytes.push(...groups);
  }
  return derElement(TAG.oid, Buffer.from(bytes));
}

/**
 * A certificate validity time (RFC 5280 §4.1.2.5): UTCTime `YYMMDDHHMMSSZ` through 2049,
 * GeneralizedTime `YYYYMMDDHHMMSSZ` from 2050; whole seconds (the milliseconds are dropped).
 */
export function derTime(date: Date): Buffer {
  const year = date.getUTCFullYear();
  if (!Number.isFinite(date.getTime()) || year < 1950 || year > 9999) throw new RangeError(`derTime: ${String(date)} is outside 1950..9999`);
  const two = (value: number) => String(value).padStart(2, '0');
  const rest = `${two(date.getUTCMonth() + 1)}${two(date.getUTCDate())}${two(date.getUTCHours())}${two(date.getUTCMinutes())}${two(date.getUTCSeconds())}Z`;
  return year < 2050 ? derElement(TAG.utcTime, Buffer.from(`${two(year % 100)}${rest}`, 'latin1')) : derElement(TAG.generalizedTime, Buffer.from(`${year}${rest}`, 'latin1'));
}

function derLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let rest = length; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
