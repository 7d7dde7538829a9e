import { derBoolean, derImplicitPrimitive, derNamedBits, derOctetString, derOid, derSequence, derSetOf, derElement, derSmallInteger } from './der-writer';
import { ATTRIBUTE_OIDS, EXTENSION_OID, KEY_USAGE } from './certificate';
import { TAG } from './der';

/*
 * The names and extensions of the certificates we mint, written as DER (RFC 5280 §4.1.2.4, §4.2.1).
 * The builder (lib/pki/certificate-builder.ts) frames them; nothing here parses. @peculiar/x509 wrote
 * these before, and test/pki/certificate-fields.test.ts shows each is byte for byte what it writes,
 * so a certificate minted now encodes as one minted before. Written here because evaluating
 * @peculiar/x509 and its ASN.1 schemas was about 18 ms of every synth that mints, for a dozen small
 * structures.
 */

/** One Extension (RFC 5280 §4.1): what the builder puts into the TBSCertificate's extensions. */
export interface CertificateExtension {
  /** The DER of `Extension ::= SEQUENCE { extnID, critical DEFAULT FALSE, extnValue }`. */
  readonly rawData: ArrayBuffer | Uint8Array;
}

/** Subject or issuer name: organization and common name (or empty, as in a Fulcio leaf). */
export interface DistinguishedName {
  readonly organization?: string;
  readonly commonName?: string;
}

/** A KeyUsage bit by name (RFC 5280 §4.2.1.3), as lib/pki/certificate.ts's KEY_USAGE names them. */
export type KeyUsageBit = keyof typeof KEY_USAGE;

/** PrintableString's characters (X.680 §41.4): a value of only these is one, any other a UTF8String. */
const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

/**
 * The DER Name: one RDN for the organization, then one for the common name, each left out when absent
 * (an empty SEQUENCE for neither). A value is a PrintableString when it can be, else a UTF8String.
 */
export function nameDer(name: DistinguishedName): Buffer {
  const rdns: Buffer[] = [];
  if (name.organization) rdns.push(relativeName(ATTRIBUTE_OIDS.O, name.organization));
  if (name.commonName) rdns.push(relativeName(ATTRIBUTE_OIDS.CN, name.commonName));
  return derSequence(...rdns);
}

function relativeName(type: string, value: string): Buffer {
  const string = derElement(PRINTABLE.test(value) ? TAG.printableString : TAG.utf8String, Buffer.from(value, 'utf8'));
  return derSetOf(derSequence(derOid(type), string));
}

/** `critical` is DEFAULT FALSE: present only when true (X.690 §11.5). */
function extension(oid: string, critical: boolean, value: Buffer): CertificateExtension {
  return { rawData: derSequence(derOid(oid), ...(critical ? [derBoolean(true)] : []), derOctetString(value)) };
}

/** BasicConstraints (§4.2.1.9): a CA with its path length, or not a CA (an empty SEQUENCE). */
export function basicConstraints(ca: boolean, pathLength: number | undefined, critical: boolean): CertificateExtension {
  return extension(EXTENSION_OID.basicConstraints, critical, derSequence(...(ca ? [derBoolean(true)] : []), ...(pathLength === undefined ? [] : [derSmallInteger(pathLength)])));
}

/** KeyUsage (§4.2.1.3). */
export function keyUsage(usages: readonly KeyUsageBit[], critical: boolean): CertificateExtension {
  // KEY_USAGE holds 2^n for bit n
  return extension(EXTENSION_OID.keyUsage, critical, derNamedBits(usages.map((usage) => 31 - Math.clz32(KEY_USAGE[usage]))));
}

/** ExtendedKeyUsage (§4.2.1.12): the key purpose OIDs, in the order given. */
export function extendedKeyUsage(purposes: readonly string[], critical: boolean): CertificateExtension {
  return extension(EXTENSION_OID.extendedKeyUsage, critical, derSequence(...purposes.map(derOid)));
}

/** SubjectKeyIdentifier (§4.2.1.2), never critical. */
export function subjectKeyIdentifierExtension(keyIdentifier: Uint8Array): CertificateExtension {
  return extension(EXTENSION_OID.subjectKeyIdentifier, false, derOctetString(keyIdentifier));
}

/** AuthorityKeyIdentifier (§4.2.1.1) with the keyIdentifier only, never critical. */
export function authorityKeyIdentifierExtension(keyIdentifier: Uint8Array): CertificateExtension {
  return extension(EXTENSION_OID.authorityKeyIdentifier, false, derSequence(derImplicitPrimitive(0, keyIdentifier)));
}
