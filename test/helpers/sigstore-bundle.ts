import { createHash, sign as nodeSign, type KeyObject } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { AsnSerializer } from '@peculiar/asn1-schema';
import { DirectoryString } from '@peculiar/asn1-x509';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { bundleFromJSON } from '@sigstore/bundle';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import { buildCertificate } from '../../lib/pki/certificate-builder';
import { generateEcKeyPair, subjectKeyIdentifier } from '../../lib/pki/keys';
import { LocalSigner } from '../../lib/pki/local-signer';
import { EKU } from '../../lib/pki/profiles';
import { certificateKey, decryptStateKey, type PkiMaterial } from '../../lib/pki/state-items';
import { opensslOk } from './openssl';

/** Fulcio's OIDC issuer extension (v2), sigstore/fulcio docs/oid-info.md. */
export const FULCIO_ISSUER_V2_OID = '1.3.6.1.4.1.57264.1.8';
/** Default TSA policy OID of sigstore/timestamp-authority. */
export const TSA_POLICY_OID = '1.3.6.1.4.1.57264.2';

export interface FulcioLeaf {
  readonly certificate: x509.X509Certificate;
  readonly privateKey: KeyObject;
}

/**
 * Issues a leaf from the minted Fulcio intermediate the way Fulcio does: empty subject, one critical
 * email SAN, digitalSignature, EKU codeSigning, SKI/AKI, the OIDC issuer extension, 10 minutes.
 */
export async function issueFulcioLeaf(material: PkiMaterial, options: { email: string; oidcIssuer: string; now?: Date }): Promise<FulcioLeaf> {
  const now = options.now ?? new Date();
  const { privateKey, publicKey } = generateEcKeyPair('P-256');
  const intermediateKey = decryptStateKey(material.fulcio.intermediateKey, 'fulcio intermediate');
  const issuerValue = AsnSerializer.serialize(new DirectoryString({ utf8String: options.oidcIssuer }));
  const certificate = await buildCertificate(
    {
      subject: {},
      notBefore: now,
      notAfter: new Date(now.getTime() + 10 * 60 * 1000),
      publicKey,
      extensions: [
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([EKU.codeSigning], false),
        new x509.SubjectKeyIdentifierExtension(subjectKeyIdentifier(publicKey).toString('hex')),
        new x509.AuthorityKeyIdentifierExtension(subjectKeyIdentifier(certificateKey(material.fulcio.intermediate)).toString('hex')),
        new x509.SubjectAlternativeNameExtension([{ type: 'email', value: options.email }], true),
        new x509.Extension(FULCIO_ISSUER_V2_OID, false, issuerValue),
      ],
    },
    { signer: new LocalSigner(intermediateKey, 'fulcio/intermediate.key.pem'), issuer: material.fulcio.intermediate, purpose: 'test leaf' },
  );
  return { certificate, privateKey };
}

/**
 * Asks `openssl ts -reply` (the TSA role played by openssl, with the minted TSA leaf key and chain) for
 * an RFC 3161 timestamp over `data`; returns the DER TimeStampResp.
 */
export function opensslTimestamp(material: PkiMaterial, data: Buffer, workDir: string): Buffer {
  mkdirSync(workDir, { recursive: true });
  const file = (name: string) => join(workDir, name);
  writeFileSync(file('data.bin'), data);
  writeFileSync(file('tsa-leaf.pem'), material.tsa.leaf.toString('pem'));
  writeFileSync(file('tsa-leaf.key.pem'), material.tsa.leafKey.pem, { mode: 0o600 });
  writeFileSync(file('tsa-leaf.key.password'), material.tsa.leafKey.password, { mode: 0o600 });
  writeFileSync(file('tsa-cas.pem'), `${material.tsa.intermediate.toString('pem')}\n${material.tsa.root.toString('pem')}\n`);
  writeFileSync(file('tsaserial'), '01\n');
  writeFileSync(file('tsa.cnf'), opensslTsaConfig(workDir));
  opensslOk(['ts', '-query', '-data', file('data.bin'), '-sha256', '-cert', '-out', file('request.tsq')]);
  opensslOk([
    'ts', '-reply', '-config', file('tsa.cnf'), '-queryfile', file('request.tsq'),
    '-signer', file('tsa-leaf.pem'), '-inkey', file('tsa-leaf.key.pem'), '-passin', `file:${file('tsa-leaf.key.password')}`,
    '-chain', file('tsa-cas.pem'), '-out', file('response.tsr'),
  ]);
  return readFileSync(file('response.tsr'));
}

export function opensslTsaConfig(workDir: string): string {
  return [
    '[ tsa ]',
    'default_tsa = sigstore_cdk_test',
    '[ sigstore_cdk_test ]',
    `serial = ${join(workDir, 'tsaserial')}`,
    'crypto_device = builtin',
    `default_policy = ${TSA_POLICY_OID}`,
    'digests = sha256, sha384, sha512',
    'accuracy = secs:1',
    'ordering = yes',
    'tsa_name = no',
    'ess_cert_id_chain = no',
    'ess_cert_id_alg = sha256',
    'signer_digest = sha256',
    '',
  ].join('\n');
}

export interface SignedArtifact {
  readonly artifact: Buffer;
  /** Sigstore bundle v0.3 JSON: Fulcio-style certificate, message signature, one RFC 3161 timestamp. */
  readonly bundle: Record<string, unknown>;
  readonly email: string;
  readonly oidcIssuer: string;
}

/** Signs `artifact` as cosign/sigstore-js would with a certificate from the minted Fulcio and a timestamp from the minted TSA. */
export async function signArtifact(
  material: PkiMaterial,
  options: { artifact: Buffer; workDir: string; email?: string; oidcIssuer?: string },
): Promise<SignedArtifact> {
  const email = options.email ?? 'dev@example.com';
  const oidcIssuer = options.oidcIssuer ?? 'https://issuer.example.com';
  const leaf = await issueFulcioLeaf(material, { email, oidcIssuer, now: new Date(Date.now() - 1000) });
  const signature = nodeSign('sha256', options.artifact, { key: leaf.privateKey, dsaEncoding: 'der' });
  const timestamp = opensslTimestamp(material, signature, options.workDir);
  const bundle = {
    mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
    verificationMaterial: {
      certificate: { rawBytes: Buffer.from(leaf.certificate.rawData).toString('base64') },
      tlogEntries: [],
      timestampVerificationData: { rfc3161Timestamps: [{ signedTimestamp: timestamp.toString('base64') }] },
    },
    messageSignature: {
      messageDigest: { algorithm: 'SHA2_256', digest: createHash('sha256').update(options.artifact).digest('base64') },
      signature: signature.toString('base64'),
    },
  };
  return { artifact: options.artifact, bundle, email, oidcIssuer };
}

/**
 * Verifies with @sigstore/verify against a trusted_root.json: tlog and CT thresholds 0 (no Rekor or CT
 * log runs here), one RFC 3161 timestamp required; identity = the email SAN and the OIDC issuer.
 * Throws the verifier's error (with its `code`) on failure.
 */
export function verifyWithSigstore(trustedRootJson: unknown, signed: SignedArtifact): void {
  const trust = toTrustMaterial(TrustedRoot.fromJSON(trustedRootJson));
  const verifier = new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 1 });
  verifier.verify(toSignedEntity(bundleFromJSON(signed.bundle), signed.artifact), {
    subjectAlternativeName: signed.email,
    extensions: { issuer: signed.oidcIssuer },
  });
}
