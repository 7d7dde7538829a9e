import { randomBytes, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { SignerError } from '../errors';
import { Certificate } from './certificate';
import { nameDer, type CertificateExtension, type DistinguishedName } from './certificate-fields';
import { derBitString, derExplicit, derOid, derSequence, derSmallInteger, derTime, derUnsignedInteger } from './der-writer';
import { publicKeysEqual, spkiDer } from './keys';
import type { Signer } from './signer';
import { ecdsaAlgorithmFor } from './signature-algorithm';

export type { CertificateExtension, DistinguishedName };

export interface CertificateTemplate {
  readonly subject: DistinguishedName;
  /** Serial number (positive, big-endian). @default - 20 random bytes (159 bits, positive) */
  readonly serialNumber?: Uint8Array;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** The certified key. */
  readonly publicKey: KeyObject;
  /** In this order (lib/pki/certificate-fields.ts writes them; an @peculiar/x509 Extension is one too). */
  readonly extensions: readonly CertificateExtension[];
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
 * Only minting loads this module and lib/pki/profiles.ts, through a lazy require (lib/pki/minting.ts),
 * so that a command that only reads the state never evaluates them.
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

  // RFC 5280 §4.1: assembled from parts that are DER already (the names and extensions of
  // lib/pki/certificate-fields.ts, the key from node:crypto, the issuer's name as its certificate
  // holds it), so nothing is parsed. ECDSA's AlgorithmIdentifier has no parameters (RFC 5758 §3.2).
  const signatureAlgorithm = derSequence(derOid(algorithm.oid));
  const subjectName = nameDer(template.subject);
  const tbsDer = derSequence(
    derExplicit(0, derSmallInteger(2)), // version v3
    derUnsignedInteger(template.serialNumber ?? randomSerialNumber()),
    signatureAlgorithm,
    issuer ? issuer.subjectDer : subjectName,
    derSequence(derTime(template.notBefore), derTime(template.notAfter)),
    subjectName,
    spkiDer(template.publicKey),
    // extensions: SIZE (1..MAX), so absent rather than empty
    ...(template.extensions.length > 0 ? [derExplicit(3, derSequence(...template.extensions.map((extension) => new Uint8Array(extension.rawData))))] : []),
  );
  const signature = await signer.sign(tbsDer, options.purpose);
  if (!nodeVerify(algorithm.nodeHash, tbsDer, { key: signerKey, dsaEncoding: 'der' }, signature)) {
    throw new SignerError('SIGNATURE_INVALID', `signer ${signer.keyRef} returned a signature that does not verify against its public key`);
  }
  return Certificate.fromDer(derSequence(tbsDer, signatureAlgorithm, derBitString(signature)));
}

/** 20 random bytes with the top bit cleared and the next one set: positive, 159 bits, no padding. */
export function randomSerialNumber(): Uint8Array {
  const bytes = randomBytes(20);
  bytes[0] = (bytes[0] & 0x7f) | 0x40;
  return bytes;
}
