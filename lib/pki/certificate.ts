import { createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { childrenOf, contentOf, contextTag, DerError, encodingOf, expectTag, readBitString, readBoolean, readDirectoryString, readOid, readSmallInteger, readTime, readWhole, TAG, type Tlv } from './der';

/** Basic constraints (RFC 5280 §4.2.1.9). */
export interface BasicConstraints {
  readonly ca: boolean;
  /** @default - no limit */
  readonly pathLength?: number;
}

/**
 * Key usage bits (RFC 5280 §4.2.1.3), numbered as @peculiar/x509's KeyUsageFlags: bit n of the
 * BIT STRING (n = 0 is digitalSignature) is the value 2^n.
 */
export const KEY_USAGE = {
  digitalSignature: 1,
  nonRepudiation: 2,
  keyEncipherment: 4,
  dataEncipherment: 8,
  keyAgreement: 16,
  keyCertSign: 32,
  cRLSign: 64,
  encipherOnly: 128,
  decipherOnly: 256,
} as const;

/** One attribute of a distinguished name: its type (OID) and its value as text (`#hex` of its encoding when it is not a string). */
interface NameAttribute {
  readonly type: string;
  readonly value: string;
  /** The value is not a string and `value` is `#` and the hex of its encoding (printed unescaped). */
  readonly encoded: boolean;
}

/** Short names of attribute types, as @peculiar/x509 prints them (its `names` table in Name). */
const ATTRIBUTE_NAMES: Readonly<Record<string, string>> = {
  '2.5.4.3': 'CN',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.6': 'C',
  '0.9.2342.19200300.100.1.25': 'DC',
  '1.2.840.113549.1.9.1': 'E',
  '2.5.4.42': 'G',
  '2.5.4.43': 'I',
  '2.5.4.4': 'SN',
  '2.5.4.12': 'T',
};
export const ATTRIBUTE_OIDS: Readonly<Record<string, string>> = Object.fromEntries(Object.entries(ATTRIBUTE_NAMES).map(([oid, name]) => [name, oid]));

/** The OIDs of the certificate extensions the project writes (lib/pki/certificate-fields.ts) and reads. */
export const EXTENSION_OID = {
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extendedKeyUsage: '2.5.29.37',
} as const;

/**
 * An X.509 certificate as the read path of the state needs it, parsed once from its DER: the parts
 * node:crypto does not expose (the TBSCertificate bytes, the signature and its algorithm, basic
 * constraints, key usage, the names' attributes) by lib/pki/der.ts; the checks OpenSSL does
 * (`checkIssued`, `verify`) by node:crypto's X509Certificate. The byte fields are this object's
 * own copies, for callers to read and never to write: the certificates of the state are shared by
 * every reader in the process (lib/pki/parsed-certificates.ts); copy one (`Buffer.from`) to change it.
 * Minting (lib/pki/certificate-builder.ts) writes certificates with lib/pki/der-writer.ts.
 */
export class Certificate {
  /** Parses DER; throws a DerError for anything that is not one certificate (as this reader and OpenSSL read it). */
  static fromDer(der: Uint8Array): Certificate {
    return new Certificate(Buffer.from(der));
  }

  /**
   * Parses the first `CERTIFICATE` block of a PEM text (what @peculiar/x509 read from the state's
   * files); throws a DerError when there is none or it is not a certificate.
   */
  static fromPem(pem: string): Certificate {
    const match = /-----BEGIN CERTIFICATE-----\r?\n([A-Za-z0-9+/=\r\n]+?)-----END CERTIFICATE-----/.exec(pem);
    if (!match) throw new DerError('no PEM CERTIFICATE block');
    const base64 = match[1].replace(/[\r\n]/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(base64) || base64.length % 4 !== 0) throw new DerError('the PEM block is not base64');
    return new Certificate(Buffer.from(base64, 'base64'));
  }

  /** The whole certificate. */
  readonly der: Buffer;
  /** The DER TBSCertificate: the bytes the issuer signed. */
  readonly tbs: Buffer;
  /** The serial number's INTEGER octets in lowercase hex (as @peculiar/x509's `serialNumber`). */
  readonly serialNumber: string;
  /** The outer signatureAlgorithm's OID, e.g. `1.2.840.10045.4.3.3` (ecdsa-with-SHA384). */
  readonly signatureAlgorithm: string;
  /** The signatureValue's bits: for ECDSA, the DER Ecdsa-Sig-Value. */
  readonly signature: Buffer;
  /** The subject as @peculiar/x509 printed it: `O=Example, CN=Fulcio Root CA` (RDNs in order, RFC 4514 escaping). */
  readonly subject: string;
  readonly issuer: string;
  /** The DER Name of the subject (what an issued certificate's issuer field repeats). */
  readonly subjectDer: Buffer;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** The DER SubjectPublicKeyInfo. */
  readonly spki: Buffer;
  /** @default - undefined: the certificate has no basicConstraints extension */
  readonly basicConstraints?: BasicConstraints;
  /** The key usage bits (KEY_USAGE). @default - undefined: no keyUsage extension */
  readonly keyUsage?: number;

  private readonly subjectAttributes: readonly NameAttribute[];
  private readonly openssl: X509Certificate;
  private key?: KeyObject;
  private readonly verified = new WeakMap<KeyObject, boolean>();

  private constructor(der: Buffer) {
    const certificate = childrenOf(expectTag(readWhole(der), TAG.sequence, 'Certificate'));
    if (certificate.length !== 3) throw new DerError(`Certificate has ${certificate.length} elements, expected 3`);
    const [tbsTlv, algorithmTlv, signatureTlv] = certificate;
    const tbs = childrenOf(expectTag(tbsTlv, TAG.sequence, 'TBSCertificate'));
    let index = 0;
    if (tbs[0]?.tag === contextTag(0)) {
      const [version] = childrenOf(tbs[0]);
      if (readSmallInteger(expectTag(version, TAG.integer, 'version')) !== 2) throw new DerError('not an X.509 v3 certificate');
      index = 1;
    }
    const [serial, innerAlgorithm, issuer, validity, subject, spki, ...optional] = tbs.slice(index);
    expectTag(serial, TAG.integer, 'serialNumber');
    const signatureAlgorithm = algorithmOid(algorithmTlv, 'signatureAlgorithm');
    if (algorithmOid(innerAlgorithm, 'TBSCertificate signature') !== signatureAlgorithm) throw new DerError('the TBSCertificate names another signature algorithm than the certificate');
    const times = childrenOf(expectTag(validity, TAG.sequence, 'validity'));
    if (times.length !== 2) throw new DerError(`validity has ${times.length} elements, expected 2`);
    const subjectAttributes = nameAttributes(expectTag(subject, TAG.sequence, 'subject'));
    const { bits: signature, unusedBits } = readBitString(signatureTlv);
    if (unusedBits !== 0) throw new DerError('the signature is not a whole number of octets');
    expectTag(spki, TAG.sequence, 'subjectPublicKeyInfo');

    this.der = der;
    this.tbs = Buffer.from(encodingOf(tbsTlv));
    this.serialNumber = Buffer.from(contentOf(serial)).toString('hex');
    this.signatureAlgorithm = signatureAlgorithm;
    this.signature = signature;
    this.subject = formatName(subjectAttributes);
    this.issuer = formatName(nameAttributes(expectTag(issuer, TAG.sequence, 'issuer')));
    this.subjectDer = Buffer.from(encodingOf(subject));
    this.notBefore = readTime(times[0]);
    this.notAfter = readTime(times[1]);
    this.spki = Buffer.from(encodingOf(spki));
    this.subjectAttributes = subjectAttributes.flat();
    const extensions = readExtensions(optional);
    const basicConstraints = extensions.get(EXTENSION_OID.basicConstraints);
    if (basicConstraints) this.basicConstraints = readBasicConstraints(basicConstraints);
    const keyUsage = extensions.get(EXTENSION_OID.keyUsage);
    if (keyUsage) this.keyUsage = readKeyUsage(keyUsage);
    // OpenSSL parses it too (it must accept what this reader accepted): checkIssued and verify are its.
    try {
      this.openssl = new X509Certificate(der);
    } catch (error) {
      throw new DerError(`OpenSSL does not read it: ${(error as Error).message}`);
    }
  }

  /** The certified public key. */
  get publicKey(): KeyObject {
    this.key ??= createPublicKey({ key: this.spki, format: 'der', type: 'spki' });
    return this.key;
  }

  /** The values of a subject attribute (`O`, `CN`, or a dotted OID), in order. */
  subjectField(type: string): string[] {
    const oid = ATTRIBUTE_OIDS[type] ?? type;
    return this.subjectAttributes.filter((attribute) => attribute.type === oid).map((attribute) => attribute.value);
  }

  /**
   * Whether `issuer` issued this certificate as OpenSSL checks it (X509_check_issued: names, key
   * identifiers, and the issuer's key usage allowing keyCertSign); the signature is `verify`'s.
   */
  checkIssued(issuer: Certificate): boolean {
    return this.openssl.checkIssued(issuer.openssl);
  }

  /**
   * Whether the signature verifies under `key` (OpenSSL). Remembered per key object: a state's
   * chains share their CAs (the TSA intermediate is checked under its root alone and in the leaf's chain).
   */
  verify(key: KeyObject): boolean {
    let verified = this.verified.get(key);
    if (verified === undefined) {
      verified = this.openssl.verify(key);
      this.verified.set(key, verified);
    }
    return verified;
  }

  /** PEM, 64 characters a line, no final newline (as @peculiar/x509's `toString('pem')`, which the state files and outputs were written with). */
  toString(format: 'pem' = 'pem'): string {
    if (format !== 'pem') throw new TypeError(`unsupported format ${String(format)}`);
    const base64 = this.der.toString('base64');
    const lines = ['-----BEGIN CERTIFICATE-----'];
    for (let offset = 0; offset < base64.length; offset += 64) lines.push(base64.slice(offset, offset + 64));
    lines.push('-----END CERTIFICATE-----');
    return lines.join('\n');
  }
}

function algorithmOid(tlv: Tlv | undefined, what: string): string {
  const [oid] = childrenOf(expectTag(tlv, TAG.sequence, what));
  return readOid(expectTag(oid, TAG.oid, `${what} algorithm`));
}

/** Name ::= SEQUENCE OF RelativeDistinguishedName (SET OF AttributeTypeAndValue): the attributes of each RDN, in order. */
function nameAttributes(name: Tlv): NameAttribute[][] {
  return childrenOf(name).map((rdn) =>
    childrenOf(expectTag(rdn, TAG.set, 'RelativeDistinguishedName')).map((pair): NameAttribute => {
      const [type, value, ...rest] = childrenOf(expectTag(pair, TAG.sequence, 'AttributeTypeAndValue'));
      if (!value || rest.length > 0) throw new DerError(`AttributeTypeAndValue at byte ${pair.start} is not a type and a value`);
      const text = readDirectoryString(value);
      return text === undefined
        ? { type: readOid(type), value: `#${Buffer.from(encodingOf(value)).toString('hex')}`, encoded: true }
        : { type: readOid(type), value: text, encoded: false };
    }),
  );
}

/** As @peculiar/x509's Name.toString(): `type=value` per attribute, `+` within an RDN, `, ` between RDNs. */
function formatName(rdns: readonly (readonly NameAttribute[])[]): string {
  return rdns
    .map((rdn) => rdn.map((attribute) => `${ATTRIBUTE_NAMES[attribute.type] ?? attribute.type}=${attribute.encoded ? attribute.value : escapeValue(attribute.value)}`).join('+'))
    .join(', ');
}

/** RFC 4514 escaping as @peculiar/x509 does it (including its one-time replacement of a control character). */
function escapeValue(value: string): string {
  return value
    .replace(/([,+"\\<>;])/g, '\\$1')
    .replace(/^([ #])/, '\\$1')
    .replace(/([ ]$)/, '\\$1')
    .replace(/([\r\n\t])/, (char) => `\\${Buffer.from(char, 'utf8').toString('hex').toUpperCase()}`);
}

/** extensions [3] EXPLICIT SEQUENCE OF Extension: extnValue's content by OID (each OID at most once, RFC 5280 §4.2). */
function readExtensions(optional: Tlv[]): Map<string, Tlv> {
  const found = new Map<string, Tlv>();
  let last = -1;
  for (const element of optional) {
    // [1] issuerUniqueID, [2] subjectUniqueID (IMPLICIT, primitive), [3] extensions, in that order.
    const number = element.tag === 0x81 ? 1 : element.tag === 0x82 ? 2 : element.tag === contextTag(3) ? 3 : -1;
    if (number <= last) throw new DerError(`unexpected element with tag 0x${element.tag.toString(16)} at byte ${element.start} in the TBSCertificate`);
    last = number;
    if (number !== 3) continue;
    const [list, ...rest] = childrenOf(element);
    if (rest.length > 0) throw new DerError(`extensions at byte ${element.start} hold more than one element`);
    for (const extension of childrenOf(expectTag(list, TAG.sequence, 'extensions'))) {
      const parts = childrenOf(expectTag(extension, TAG.sequence, 'Extension'));
      const oid = readOid(parts[0]);
      if (parts.length === 3) readBoolean(parts[1]);
      else if (parts.length !== 2) throw new DerError(`extension ${oid} has ${parts.length} elements`);
      const value = expectTag(parts[parts.length - 1], TAG.octetString, `extension ${oid} value`);
      if (found.has(oid)) throw new DerError(`extension ${oid} appears twice`);
      found.set(oid, readWhole(contentOf(value)));
    }
  }
  return found;
}

/** BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER (0..MAX) OPTIONAL } */
function readBasicConstraints(value: Tlv): BasicConstraints {
  const parts = childrenOf(expectTag(value, TAG.sequence, 'basicConstraints'));
  let index = 0;
  let ca = false;
  if (parts[index]?.tag === TAG.boolean) ca = readBoolean(parts[index++]);
  const pathLength = parts[index] ? readSmallInteger(parts[index++]) : undefined;
  if (index !== parts.length) throw new DerError('basicConstraints holds more than cA and pathLenConstraint');
  return pathLength === undefined ? { ca } : { ca, pathLength };
}

/** KeyUsage ::= BIT STRING, as the KEY_USAGE bits. */
function readKeyUsage(value: Tlv): number {
  const { bits } = readBitString(value);
  let usages = 0;
  for (let bit = 0; bit < Math.min(bits.length * 8, 9); bit++) {
    if (bits[bit >> 3] & (0x80 >> (bit & 7))) usages |= 1 << bit;
  }
  return usages;
}
