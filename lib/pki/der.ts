/**
 * A minimal reader of DER (ITU-T X.690 §8 and §10) for the certificates of the state: it walks
 * tag-length-value elements and decodes the few primitive types a certificate's read path needs
 * (OBJECT IDENTIFIER, BOOLEAN, INTEGER, BIT STRING, UTCTime/GeneralizedTime, the directory strings).
 * It never builds anything. Malformed input — a length past its parent, an indefinite or
 * non-minimal length, a high tag number, trailing bytes — is refused with a DerError naming where.
 */

/** Malformed DER: the message says what and at which byte offset. */
export class DerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DerError';
  }
}

/** Universal tags this reader knows (X.690 / X.680 §8.4). */
export const TAG = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  oid: 0x06,
  utf8String: 0x0c,
  printableString: 0x13,
  teletexString: 0x14,
  ia5String: 0x16,
  utcTime: 0x17,
  generalizedTime: 0x18,
  universalString: 0x1c,
  bmpString: 0x1e,
  sequence: 0x30,
  set: 0x31,
} as const;

/** The context-specific, constructed tag `[n]` (EXPLICIT tagging). */
export function contextTag(n: number): number {
  return 0xa0 | n;
}

/** One element: its identifier octet and where its header, content and end are in `bytes`. */
export interface Tlv {
  readonly bytes: Uint8Array;
  readonly tag: number;
  /** Offset of the identifier octet. */
  readonly start: number;
  /** Offset of the first content octet. */
  readonly contentStart: number;
  /** Offset just past the last content octet. */
  readonly end: number;
}

/** The element at `offset`, which must end at or before `limit`. */
export function readTlv(bytes: Uint8Array, offset: number, limit: number = bytes.length): Tlv {
  if (offset + 2 > limit) throw new DerError(`truncated element at byte ${offset}`);
  const tag = bytes[offset];
  if ((tag & 0x1f) === 0x1f) throw new DerError(`high tag number at byte ${offset} (not used in certificates)`);
  let length = bytes[offset + 1];
  let contentStart = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0) throw new DerError(`indefinite length at byte ${offset} (not DER)`);
    if (count > 4) throw new DerError(`length of ${count} octets at byte ${offset}`);
    if (contentStart + count > limit) throw new DerError(`truncated length at byte ${offset}`);
    length = 0;
    for (let index = 0; index < count; index++) length = length * 256 + bytes[contentStart + index];
    if (bytes[contentStart] === 0 || length < 0x80) throw new DerError(`non-minimal length at byte ${offset} (not DER)`);
    contentStart += count;
  }
  const end = contentStart + length;
  if (end > limit) throw new DerError(`element at byte ${offset} runs past its end (${length} content octets, ${limit - contentStart} left)`);
  return { bytes, tag, start: offset, contentStart, end };
}

/** The element that is the whole of `bytes` (nothing after it). */
export function readWhole(bytes: Uint8Array): Tlv {
  const tlv = readTlv(bytes, 0);
  if (tlv.end !== bytes.length) throw new DerError(`${bytes.length - tlv.end} bytes after the element`);
  return tlv;
}

/** The elements inside a constructed element, in order; they must fill it exactly. */
export function childrenOf(parent: Tlv): Tlv[] {
  if (!(parent.tag & 0x20)) throw new DerError(`element at byte ${parent.start} is primitive, expected constructed`);
  const children: Tlv[] = [];
  for (let offset = parent.contentStart; offset < parent.end; ) {
    const child = readTlv(parent.bytes, offset, parent.end);
    children.push(child);
    offset = child.end;
  }
  return children;
}

/** Throws unless `tlv` has tag `tag`; `what` names the field. */
export function expectTag(tlv: Tlv | undefined, tag: number, what: string): Tlv {
  if (!tlv) throw new DerError(`${what} is missing`);
  if (tlv.tag !== tag) throw new DerError(`${what} at byte ${tlv.start} has tag 0x${hex2(tlv.tag)}, expected 0x${hex2(tag)}`);
  return tlv;
}

/** The content octets. */
export function contentOf(tlv: Tlv): Uint8Array {
  return tlv.bytes.subarray(tlv.contentStart, tlv.end);
}

/** The whole encoding (identifier, length and content). */
export function encodingOf(tlv: Tlv): Uint8Array {
  return tlv.bytes.subarray(tlv.start, tlv.end);
}

/** An OBJECT IDENTIFIER in dotted form, e.g. `2.5.4.3`. */
export function readOid(tlv: Tlv): string {
  const content = contentOf(expectTag(tlv, TAG.oid, 'object identifier'));
  if (content.length === 0) throw new DerError(`empty object identifier at byte ${tlv.start}`);
  const arcs: number[] = [];
  let value = 0;
  for (let index = 0; index < content.length; index++) {
    const octet = content[index];
    if (value === 0 && octet === 0x80) throw new DerError(`non-minimal object identifier arc at byte ${tlv.start}`);
    value = value * 128 + (octet & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER) throw new DerError(`object identifier arc too large at byte ${tlv.start}`);
    if (!(octet & 0x80)) {
      arcs.push(value);
      value = 0;
    } else if (index === content.length - 1) {
      throw new DerError(`truncated object identifier at byte ${tlv.start}`);
    }
  }
  const first = arcs[0] < 80 ? Math.floor(arcs[0] / 40) : 2;
  return [first, arcs[0] - first * 40, ...arcs.slice(1)].join('.');
}

/** A BOOLEAN (DER: 0x00 or 0xff). */
export function readBoolean(tlv: Tlv): boolean {
  const content = contentOf(expectTag(tlv, TAG.boolean, 'boolean'));
  if (content.length !== 1 || (content[0] !== 0 && content[0] !== 0xff)) throw new DerError(`boolean at byte ${tlv.start} is not DER`);
  return content[0] === 0xff;
}

/** A small non-negative INTEGER (a path length, a version), as a number. */
export function readSmallInteger(tlv: Tlv): number {
  const content = contentOf(expectTag(tlv, TAG.integer, 'integer'));
  if (content.length === 0 || content.length > 4) throw new DerError(`integer at byte ${tlv.start} has ${content.length} octets, expected 1 to 4`);
  if (content[0] & 0x80) throw new DerError(`negative integer at byte ${tlv.start}`);
  if (content.length > 1 && content[0] === 0 && !(content[1] & 0x80)) throw new DerError(`non-minimal integer at byte ${tlv.start} (not DER)`);
  let value = 0;
  for (const octet of content) value = value * 256 + octet;
  return value;
}

/** A BIT STRING: its bits (a copy) and how many trailing bits of the last octet are unused. */
export function readBitString(tlv: Tlv): { readonly bits: Buffer; readonly unusedBits: number } {
  const content = contentOf(expectTag(tlv, TAG.bitString, 'bit string'));
  if (content.length === 0) throw new DerError(`empty bit string at byte ${tlv.start}`);
  const unusedBits = content[0];
  if (unusedBits > 7 || (content.length === 1 && unusedBits !== 0)) throw new DerError(`bit string at byte ${tlv.start} has ${unusedBits} unused bits`);
  return { bits: Buffer.from(content.subarray(1)), unusedBits };
}

/** A UTCTime (years 1950–2049, RFC 5280 §4.1.2.5.1) or GeneralizedTime, which must be in UTC with whole seconds (RFC 5280 §4.1.2.5). */
export function readTime(tlv: Tlv): Date {
  const text = Buffer.from(contentOf(tlv)).toString('latin1');
  let match: RegExpExecArray | null;
  let year: number;
  if (tlv.tag === TAG.utcTime) {
    match = /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(text);
    if (!match) throw new DerError(`UTCTime at byte ${tlv.start} is not YYMMDDHHMMSSZ: ${JSON.stringify(text)}`);
    const yy = Number(match[1]);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
  } else if (tlv.tag === TAG.generalizedTime) {
    match = /^(\d\d\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(text);
    if (!match) throw new DerError(`GeneralizedTime at byte ${tlv.start} is not YYYYMMDDHHMMSSZ: ${JSON.stringify(text)}`);
    year = Number(match[1]);
  } else {
    throw new DerError(`time at byte ${tlv.start} has tag 0x${hex2(tlv.tag)}, expected UTCTime or GeneralizedTime`);
  }
  const [month, day, hour, minute, second] = match.slice(2).map(Number);
  const date = new Date(0);
  // setUTCFullYear, not Date.UTC, which reads years 0–99 as 1900–1999.
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  // Dates roll over (month 13, day 32, hour 24): a time that does not read back is not a time.
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day || date.getUTCHours() !== hour || date.getUTCMinutes() !== minute || date.getUTCSeconds() !== second) {
    throw new DerError(`time at byte ${tlv.start} is not a valid date: ${JSON.stringify(text)}`);
  }
  return date;
}

/**
 * A directory string (RFC 5280 §4.1.2.4: UTF8String, PrintableString, TeletexString, IA5String,
 * UniversalString, BMPString) as text, or undefined for another type.
 */
export function readDirectoryString(tlv: Tlv): string | undefined {
  const content = Buffer.from(contentOf(tlv));
  switch (tlv.tag) {
    case TAG.utf8String:
      return content.toString('utf8');
    case TAG.printableString:
    case TAG.ia5String:
    case TAG.teletexString:
      return content.toString('latin1');
    case TAG.bmpString:
      if (content.length % 2 !== 0) throw new DerError(`BMPString at byte ${tlv.start} has an odd length`);
      return Buffer.from(content).swap16().toString('utf16le');
    case TAG.universalString: {
      if (content.length % 4 !== 0) throw new DerError(`UniversalString at byte ${tlv.start} is not a multiple of 4 octets`);
      let text = '';
      for (let offset = 0; offset < content.length; offset += 4) text += String.fromCodePoint(content.readUInt32BE(offset));
      return text;
    }
    default:
      return undefined;
  }
}

function hex2(value: number): string {
  return value.toString(16).padStart(2, '0');
}
