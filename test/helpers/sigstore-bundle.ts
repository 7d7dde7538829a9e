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
import { openssl, opensslOk } from './openssl';
import { issueWithEmbeddedSct, type SctSigner } from './sct';

/** Fulcio's OIDC issuer extension (v2), sigstore/fulcio docs/oid-info.md. */
export const FULCIO_ISSUER_V2_OID = '1.3.6.1.4.1.57264.1.8';
/** Default TSA policy OID of sigstore/timestamp-authority. */
export const TSA_POLICY_OID = '1.3.6.1.4.1.57264.2';

export { SCT_LIST_OID, type SctSigner } from './sct';

export interface FulcioLeaf {
  readonly certificate: x509.X509Certificate;
  readonly privateKey: KeyObject;
}

/**
 * Issues a leaf from the minted Fulcio intermediate the way Fulcio does: empty subject, one critical
 * email SAN, digitalSignature, EKU codeSigning, SKI/AKI, the OIDC issuer extension, 10 minutes; with
 * `sct`, one SCT embedded from that CT log (the key pair is generated here).
 */
export async function issueFulcioLeaf(material: PkiMaterial, options: FulcioLeafOptions): Promise<FulcioLeaf> {
  const { privateKey, publicKey } = generateEcKeyPair('P-256');
  return { certificate: await issueFulcioLeafFor(material, publicKey, options), privateKey };
}

export interface FulcioLeafOptions {
  /** The email SAN. */
  readonly email: string;
  /** The OIDC issuer extension's value. */
  readonly oidcIssuer: string;
  /** notBefore (notAfter is 10 minutes later) and, unless `sctTime` is given, the SCT's timestamp. @default now */
  readonly now?: Date;
  /**
   * The SCT's timestamp: when the CT log saw the precertificate, which may be later than a backdated
   * notBefore. It must fall inside the CT log key's validFor, so it may not predate the log. @default now
   */
  readonly sctTime?: Date;
  /** The CT log that signs the embedded SCT over the precertificate. @default - no SCT extension */
  readonly sct?: SctSigner;
}

/** The same for a given public key (what Fulcio's signingCert API receives). */
export async function issueFulcioLeafFor(material: PkiMaterial, publicKey: KeyObject, options: FulcioLeafOptions): Promise<x509.X509Certificate> {
  const now = options.now ?? new Date();
  const intermediateKey = decryptStateKey(material.fulcio.intermediateKey, 'fulcio intermediate');
  const issuerValue = AsnSerializer.serialize(new DirectoryString({ utf8String: options.oidcIssuer }));
  const serialNumber = randomSerialNumber();
  const asX509 = (certificate: { der: Buffer }) => new x509.X509Certificate(new Uint8Array(certificate.der));
  const build = async (extra: x509.Extension[]) => asX509(await buildCertificate(
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
  ));
  // As Fulcio does with the CT log's answer: the same TBS (serial, validity, key), plus the SCT list.
  return options.sct ? issueWithEmbeddedSct(build, asX509(material.fulcio.intermediate), options.sct, options.sctTime ?? now) : build([]);
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
  /**
   * The directory of the openssl TSA run (data.bin, response.tsr): a timestamp that @sigstore/verify
   * refuses is explained from it (explainTimestamp). @default - none
   */
  readonly timestampDirectory?: string;
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
  return { artifact: options.artifact, bundle, email, oidcIssuer, timestampDirectory: options.workDir };
}

export interface VerifyOptions {
  /**
   * How many embedded SCTs (checked against trusted_root.json's ctlogs) the leaf needs; sigstore-js
   * defaults to 1 (@sigstore/verify 3.1.1 dist/verifier.js). Bundles from signArtifact carry one only
   * when it was given `sct`. @default 0
   */
  readonly ctlogThreshold?: number;
}

/**
 * Verifies with @sigstore/verify against a trusted_root.json: tlog threshold 0 (no Rekor runs here),
 * CT threshold `options.ctlogThreshold`, one RFC 3161 timestamp required; identity = the email SAN and
 * the OIDC issuer. Throws the verifier's error (with its `code`) on failure.
 */
export function verifyWithSigstore(trustedRootJson: unknown, signed: SignedArtifact, options: VerifyOptions = {}): void {
  const trust = toTrustMaterial(TrustedRoot.fromJSON(trustedRootJson));
  const verifier = new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: options.ctlogThreshold ?? 0, timestampThreshold: 1 });
  try {
    verifier.verify(toSignedEntity(bundleFromJSON(signed.bundle), signed.artifact), {
      subjectAlternativeName: signed.email,
      extensions: { issuer: signed.oidcIssuer },
    });
  } catch (error) {
    // @sigstore/verify says only that no TSA verified the token; say what each one made of it.
    const { code, message } = error as { code?: string; message?: string };
    if (code === 'TIMESTAMP_ERROR' && message === 'timestamp could not be verified' && signed.timestampDirectory) {
      (error as Error).message = `${message} (${explainTimestamp(trustedRootJson, signed.timestampDirectory)})`;
    }
    throw error;
  }
}

/**
 * Why a timestamp from opensslTimestamp may not verify against a trusted_root.json: its genTime, and
 * for each timestampAuthorities entry its validFor and what `openssl ts -verify` (an implementation
 * other than the one that refused it) says of the token with that chain at the genTime.
 */
export function explainTimestamp(trustedRootJson: unknown, directory: string): string {
  const response = join(directory, 'response.tsr');
  const text = openssl(['ts', '-reply', '-in', response, '-text']).stdout;
  const genTime = /^Time stamp: (.+)$/m.exec(text)?.[1]?.trim();
  const at = genTime === undefined ? NaN : Date.parse(genTime);
  if (genTime === undefined || Number.isNaN(at)) return `openssl cannot read the token's time: ${text.slice(0, 200)}`;
  const authorities = (trustedRootJson as { timestampAuthorities?: { validFor?: { start?: string; end?: string }; certChain?: { certificates?: { rawBytes: string }[] } }[] }).timestampAuthorities ?? [];
  const verdicts = authorities.map((authority, index) => {
    const pems = (authority.certChain?.certificates ?? []).map((certificate) => `-----BEGIN CERTIFICATE-----\n${certificate.rawBytes.replace(/.{1,64}/g, '$&\n')}-----END CERTIFICATE-----\n`);
    const root = join(directory, `explain-${index}-root.pem`);
    const untrusted = join(directory, `explain-${index}-untrusted.pem`);
    writeFileSync(root, pems[pems.length - 1] ?? '');
    writeFileSync(untrusted, pems.slice(0, -1).join('') || (pems[0] ?? ''));
    const verified = openssl(['ts', '-verify', '-in', response, '-data', join(directory, 'data.bin'), '-CAfile', root, '-untrusted', untrusted, '-attime', String(Math.floor(at / 1000))]);
    // stdout says "Verification: OK" or "Verification: FAILED"; stderr's error lines say why (its first line is the configuration file).
    const reason = verified.stderr.split('\n').filter((line) => /error/i.test(line)).map((line) => line.replace(/^.*?:error:[0-9A-F]+:/, '')).join(' / ');
    const verdict = verified.status === 0 ? 'openssl ts -verify: OK' : `openssl ts -verify: FAILED${reason ? ` (${reason})` : ` (exit ${verified.status})`}`;
    return `TSA ${index} valid for ${authority.validFor?.start ?? '?'}..${authority.validFor?.end ?? 'open'}: ${verdict}`;
  });
  return `genTime ${new Date(at).toISOString()}; ${verdicts.join('; ') || 'no timestampAuthorities'}`;
}
