import type { KeyObject } from 'node:crypto';
import { subjectKeyIdentifier } from './keys';
import type { CertificateTemplate } from './certificate-builder';
import {
  authorityKeyIdentifierExtension,
  basicConstraints,
  extendedKeyUsage,
  keyUsage,
  subjectKeyIdentifierExtension,
  type CertificateExtension,
} from './certificate-fields';

/*
 * Certificate profiles that Sigstore servers and clients accept (reference/sigstore-stack.md §1.5,
 * §1.6, §4): Fulcio's certificate specification, the TSA's VerifyCertChain rules, and the checks of
 * sigstore-js and sigstore-go (path length, EKU chaining).
 */

export interface ProfileInput {
  readonly organization: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** The certified key. */
  readonly publicKey: KeyObject;
}

export interface IssuedProfileInput extends ProfileInput {
  /** The issuing CA's key, for the authority key identifier. */
  readonly issuerPublicKey: KeyObject;
}

/** OIDs of the extended key usages we grant. */
export const EKU = { codeSigning: '1.3.6.1.5.5.7.3.3', timeStamping: '1.3.6.1.5.5.7.3.8' } as const;

function keyIdentifiers(publicKey: KeyObject, issuerPublicKey?: KeyObject): CertificateExtension[] {
  const extensions = [subjectKeyIdentifierExtension(subjectKeyIdentifier(publicKey))];
  if (issuerPublicKey) extensions.push(authorityKeyIdentifierExtension(subjectKeyIdentifier(issuerPublicKey)));
  return extensions;
}

/** A CA certificate: basic constraints (critical) with a path length, keyCertSign + cRLSign, optional EKU. */
function caProfile(
  input: ProfileInput & { issuerPublicKey?: KeyObject },
  commonName: string,
  pathLength: number,
  purpose?: string,
): CertificateTemplate {
  return {
    subject: { organization: input.organization, commonName },
    notBefore: input.notBefore,
    notAfter: input.notAfter,
    publicKey: input.publicKey,
    extensions: [
      basicConstraints(true, pathLength, true),
      keyUsage(['keyCertSign', 'cRLSign'], true),
      ...(purpose ? [extendedKeyUsage([purpose], false)] : []),
      ...keyIdentifiers(input.publicKey, input.issuerPublicKey),
    ],
  };
}

/** Fulcio root: self-signed, CA, keyCertSign + cRLSign, path length 1 (one intermediate), no EKU. */
export function fulcioRootProfile(input: ProfileInput): CertificateTemplate {
  return caProfile(input, 'Fulcio Root CA', 1);
}

/**
 * Fulcio intermediate: CA, path length 0, keyCertSign + cRLSign, EKU codeSigning (Fulcio's fileca and
 * Go's EKU chaining require it on the issuing CA).
 */
export function fulcioIntermediateProfile(input: IssuedProfileInput): CertificateTemplate {
  return caProfile(input, 'Fulcio Intermediate CA', 0, EKU.codeSigning);
}

/** TSA root: self-signed, CA, keyCertSign + cRLSign, path length 1, no EKU. */
export function tsaRootProfile(input: ProfileInput): CertificateTemplate {
  return caProfile(input, 'Timestamp Authority Root CA', 1);
}

/** TSA intermediate: CA, path length 0, EKU timeStamping (the TSA enforces it on intermediates). */
export function tsaIntermediateProfile(input: IssuedProfileInput): CertificateTemplate {
  return caProfile(input, 'Timestamp Authority Intermediate CA', 0, EKU.timeStamping);
}

/**
 * TSA signing leaf: not a CA, digitalSignature, and exactly one EKU, timeStamping, marked critical
 * (RFC 3161 §2.3; the TSA refuses any other leaf).
 */
export function tsaLeafProfile(input: IssuedProfileInput): CertificateTemplate {
  return {
    subject: { organization: input.organization, commonName: 'Timestamp Authority' },
    notBefore: input.notBefore,
    notAfter: input.notAfter,
    publicKey: input.publicKey,
    extensions: [
      basicConstraints(false, undefined, true),
      keyUsage(['digitalSignature'], true),
      extendedKeyUsage([EKU.timeStamping], true),
      ...keyIdentifiers(input.publicKey, input.issuerPublicKey),
    ],
  };
}
