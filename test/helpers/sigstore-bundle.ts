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
import { buildCertificate, randomSerialNumber } from '../../lib/pki/certificate-builder';
import { generateEcKeyPair, subjectKeyIdentifier } from '../../lib/pki/keys';
import { LocalSigner } from '../../lib/pki/local-signer';
import { EKU } from '../../lib/pki/profiles';
import { certificateKey, decryptStateKey, type PkiMaterial } from '../../lib/pki/state-items';
import { opensslOk } from './openssl';

/** Fulcio's OIDC issuer extension (v2), sigstore/fulcio docs/oid-info.md. */
export const FULCIO_ISSUER_V2_OID = '1.3.6.1.4.1.57264.1.8';
/** Default TSA policy OID of sigstore/timestamp-authority. */
export const TSA_POLICY_OID = '1.3.6.1.4.1.57264.2';

/** RFC 6962 §3.3: the embedded SCT list extension. */
export const SCT_LIST_OID = '1.3.6.1.4.1.11129.2.4.2';

/** A CT log that signs an SCT for the leaf (the test plays the log, with its key from the state). */
export interface SctSigner {
  /** The log's ECDSA P-256 private key. */
  readonly logKey: KeyObject;
  /** The log id the SCT names (SHA-256 of the log's SubjectPublicKeyInfo). */
  readonly logId: Buffer;
}

/**
 * An RFC 6962 SignedCertificateTimestampList over the leaf's TBSCertificate without the SCT
 * extension (the PreCert entry clients rebuild: issuer key hash ‖ uint24 length ‖ TBS), signed by
 * `sct.logKey` at `timestamp`. Returns the extension value (an OCTET STRING holding the list).
 */
function signedCertificateTimestampList(sct: SctSigner, issuer: x509.X509Certificate, tbs: Buffer, timestamp: Date): Buffer {
  const uint = (value: number, bytes: number) => {
    const buffer = Buffer.alloc(bytes);
    buffer.writeUIntBE(value, 0, bytes);
    return buffer;
  };
  const time = Buffer.alloc(8);
  time.writeBigUInt64BE(BigInt(timestamp.getTime()));
  const issuerKeyHash = createHash('sha256').update(Buffer.from(issuer.publicKey.rawData)).digest();
  const signed = Buffer.concat([Buffer.from([0, 0]), time, uint(1, 2), issuerKeyHash, uint(tbs.length, 3), tbs, uint(0, 2)]);
  const signature = nodeSign('sha256', signed, { key: sct.logKey, dsaEncoding: 'der' });
  const entry = Buffer.concat([Buffer.from([0]), sct.logId, time, uint(0, 2), Buffer.from([4, 3]), uint(signature.length, 2), signature]);
  const list = Buffer.concat([uint(entry.length + 2, 2), uint(entry.length, 2), entry]);
  // DER OCTET STRING (the list is shorter than 64 KiB: long-form length in two bytes when needed).
  const length = list.length < 128 ? Buffer.from([list.length]) : list.length < 256 ? Buffer.from([0x81, list.length]) : Buffer.from([0x82, list.length >> 8, list.length & 0xff]);
  return Buffer.concat([Buffer.from([0x04]), length, list]);
}

export interface FulcioLeaf {
  readonly certificate: x509.X509Certificate;
  readonly privateKey: KeyObject;
}

/**
 * Issues a leaf from the minted Fulcio intermediate the way Fulcio does: empty subject, one critical
 * email SAN, digitalSignature, EKU codeSigning, SKI/AKI, the OIDC issuer extension, 10 minutes.
 */
export async function issueFulcioLeaf(material: PkiMaterial, options: { email: string; oidcIssuer: string; now?: Date; sct?: SctSigner }): Promise<FulcioLeaf> {
  const now = options.now ?? new Date();
  const { privateKey, publicKey } = generateEcKeyPair('P-256');
  const intermediateKey = decryptStateKey(material.fulcio.intermediateKey, 'fulcio intermediate');
  const issuerValue = AsnSerializer.serialize(new DirectoryString({ utf8String: options.oidcIssuer }));
  const serialNumber = randomSerialNumber();
  const build = (extra: x509.Extension[]) => buildCertificate(
    {
      subject: {},
      serialNumber,
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
        ...extra,
      ],
    },
    { signer: new LocalSigner(intermediateKey, 'fulcio/intermediate.key.pem'), issuer: material.fulcio.intermediate, purpose: 'test leaf' },
  );
  const withoutSct = await build([]);
  if (!options.sct) return { certificate: withoutSct, privateKey };
  // As Fulcio does with the CT log's answer: the same TBS (serial, validity, key), plus the SCT list.
  const tbs = Buffer.from(withoutSct.rawData).subarray(...tbsRange(Buffer.from(withoutSct.rawData)));
  const value = signedCertificateTimestampList(options.sct, material.fulcio.intermediate, tbs, now);
  return { certificate: await build([new x509.Extension(SCT_LIST_OID, false, value)]), privateKey };
}

/** The [start, end) of the TBSCertificate inside a DER Certificate (the first element of its SEQUENCE). */
function tbsRange(der: Buffer): [number, number] {
  const header = (offset: number) => {
    const first = der[offset + 1];
    if (first < 0x80) return { start: offset + 2, length: first };
    const bytes = first & 0x7f;
    return { start: offset + 2 + bytes, length: der.readUIntBE(offset + 2, bytes) };
  };
  const outer = header(0);
  const inner = header(outer.start);
  return [outer.start, inner.start + inner.length];
}

/**
 * Asks `openssl ts -reply` (the TSA role played by openssl, with the minted TSA leaf key and chain) for
 * an RFC 3161 timestamp over `data`; returns the DER TimeStampResp.
 */
export function opensslTimestamp(material: PkiMaterial, data: Buffer, workDir: string): Buffer {
  mkdirSync(workDir, { recursive: true });
  writeFileSync(join(workDir, 'data.bin'), data);
  return opensslTimestampReply(material, ['-data', join(workDir, 'data.bin')], workDir);
}

/** The same over a SHA-256 digest (what a TSA's API receives from a client). */
export function opensslTimestampOfDigest(material: PkiMaterial, digest: Buffer, workDir: string): Buffer {
  mkdirSync(workDir, { recursive: true });
  return opensslTimestampReply(material, ['-digest', digest.toString('hex')], workDir);
}

/** `openssl ts -query` with `what` (`-data FILE` or `-digest HEX`), then `openssl ts -reply` as the TSA. */
function opensslTimestampReply(material: PkiMaterial, what: readonly string[], workDir: string): Buffer {
  const file = (name: string) => join(workDir, name);
  writeFileSync(file('tsa-leaf.pem'), material.tsa.leaf.toString('pem'));
  writeFileSync(file('tsa-leaf.key.pem'), material.tsa.leafKey.pem, { mode: 0o600 });
  writeFileSync(file('tsa-leaf.key.password'), material.tsa.leafKey.password, { mode: 0o600 });
  writeFileSync(file('tsa-cas.pem'), `${material.tsa.intermediate.toString('pem')}\n${material.tsa.root.toString('pem')}\n`);
  writeFileSync(file('tsaserial'), '01\n');
  writeFileSync(file('tsa.cnf'), opensslTsaConfig(workDir));
  opensslOk(['ts', '-query', ...what, '-sha256', '-cert', '-out', file('request.tsq')]);
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
  options: { artifact: Buffer; workDir: string; email?: string; oidcIssuer?: string; sct?: SctSigner },
): Promise<SignedArtifact> {
  const email = options.email ?? 'dev@example.com';
  const oidcIssuer = options.oidcIssuer ?? 'https://issuer.example.com';
  const leaf = await issueFulcioLeaf(material, { email, oidcIssuer, now: new Date(Date.now() - 1000), sct: options.sct });
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
