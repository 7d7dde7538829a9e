import { randomBytes, verify as nodeVerify, type KeyObject } from 'node:crypto';
import 'reflect-metadata';
import { AsnConvert } from '@peculiar/asn1-schema';
import * as asn1X509 from '@peculiar/asn1-x509';
import * as x509 from '@peculiar/x509';
import { SignerError } from '../errors';
import { Certificate } from './certificate';
import { publicKeysEqual, spkiDer } from './keys';
import type { Signer } from './signer';
import { ecdsaAlgorithmFor } from './signature-algorithm';

/** Subject or issuer name: organization and common name (or empty, as in a Fulcio leaf). */
export interface DistinguishedName {
  readonly organization?: string;
  readonly commonName?: string;
}

export interface CertificateTemplate {
  readonly subject: DistinguishedName;
  /** Serial number (positive, big-endian). @default - 20 random bytes (159 bits, positive) */
  readonly serialNumber?: Uint8Array;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** The certified key. */
  readonly publicKey: KeyObject;
  readonly extensions: readonly x509.Extension[];
}

export interface SigningOptions {
  readonly signer: Signer;
  /** The issuing CA certificate (as read from the state). @default - none: a self-signed root, the signer holds the certified key */
  readonly issuer?: Certificate;
  /** What is signed, for the ceremony log, e.g. `fulcio-root certificate`. */
  readonly purpose: string;
}

/**
 * Builds the TBSCertificate for `template`, has the signer sign its DER and returns the certificate
 * (parsed as the read path parses it, lib/pki/certificate.ts).
 *
 * This module and lib/pki/profiles.ts load @peculiar/x509 and its ASN.1 packages: only minting
 * imports them, and only through a lazy require (lib/pki/minting.ts), so that a command that only
 * reads the state never evaluates them (test/build/startup-graph.test.ts).
 * The signature is verified locally before the certificate is returned, so a signer that returns
 * garbage (or another key's signature) never produces a certificate.
 */
export async function buildCertificate(template: CertificateTemplate, options: SigningOptions): Promise<Certificate> {
  const { signer, issuer } = options;
  const signerKey = await signer.publicKey();
  const algorithm = ecdsaAlgorithmFor(signerKey, signer.keyRef);
  const issuerKey = issuer ? issuer.publicKey : template.publicKey;
  if (!publicKeysEqual(signerKey, issuerKey)) {
    throw new SignerError(
      'SIGNATURE_INVALID',
      issuer
        ? `signer ${signer.keyRef} does not hold the key of issuer "${issuer.subject}"`
        : `signer ${signer.keyRef} does not hold the key being self-certified`,
    );
  }
  if (template.notAfter.getTime() <= template.notBefore.getTime()) {
    throw new RangeError(`notAfter ${template.notAfter.toISOString()} is not after notBefore ${template.notBefore.toISOString()}`);
  }

  const signatureAlgorithm = new asn1X509.AlgorithmIdentifier({ algorithm: algorithm.oid });
  const subjectName = toAsnName(template.subject);
  const tbs = new asn1X509.TBSCertificate({
    version: asn1X509.Version.v3,
    serialNumber: toPositiveInteger(template.serialNumber ?? randomSerialNumber()),
    signature: signatureAlgorithm,
    issuer: issuer ? AsnConvert.parse(new Uint8Array(issuer.subjectDer), asn1X509.Name) : subjectName,
    validity: new asn1X509.Validity({ notBefore: wholeSeconds(template.notBefore), notAfter: wholeSeconds(template.notAfter) }),
    subject: subjectName,
    subjectPublicKeyInfo: AsnConvert.parse(spkiDer(template.publicKey), asn1X509.SubjectPublicKeyInfo),
    extensions: new asn1X509.Extensions(template.extensions.map((extension) => AsnConvert.parse(extension.rawData, asn1X509.Extension))),
  });
  const tbsDer = Buffer.from(AsnConvert.serialize(tbs));
  const signature = await signer.sign(tbsDer, options.purpose);
  if (!nodeVerify(algorithm.nodeHash, tbsDer, { key: signerKey, dsaEncoding: 'der' }, signature)) {
    throw new SignerError('SIGNATURE_INVALID', `signer ${signer.keyRef} returned a signature that does not verify against its public key`);
  }
  const certificate = new asn1X509.Certificate({
    tbsCertificate: tbs,
    signatureAlgorithm,
    signatureValue: new Uint8Array(signature).buffer,
  });
  return Certificate.fromDer(new Uint8Array(AsnConvert.serialize(certificate)));
}

/** 20 random bytes with the top bit cleared and the next one set: positive, 159 bits, no padding. */
export function randomSerialNumber(): Uint8Array {
  const bytes = randomBytes(20);
  bytes[0] = (bytes[0] & 0x7f) | 0x40;
  return bytes;
}

function toAsnName(name: DistinguishedName): asn1X509.Name {
  const parts: Record<string, string[]>[] = [];
  if (name.organization) parts.push({ O: [name.organization] });
  if (name.commonName) parts.push({ CN: [name.commonName] });
  return AsnConvert.parse(new x509.Name(parts).toArrayBuffer(), asn1X509.Name);
}

function toPositiveInteger(serial: Uint8Array): ArrayBuffer {
  let start = 0;
  while (start < serial.length - 1 && serial[start] === 0) start++;
  const trimmed = serial.subarray(start);
  const bytes = trimmed[0] & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : Buffer.from(trimmed);
  return new Uint8Array(bytes).buffer;
}

function wholeSeconds(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 1000) * 1000);
}
