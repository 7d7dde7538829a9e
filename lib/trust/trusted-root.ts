import type { KeyObject } from 'node:crypto';
import 'reflect-metadata';
import type * as x509 from '@peculiar/x509';
import type { ServiceUrls } from '../config/service-urls';
import { curveOf, logIdOf, spkiDer } from '../pki/keys';
import type { PkiMaterial } from '../pki/state-items';
import type { PublicLogKey, TransparencyLog } from './transparency-logs';

/** The media type scaffolding and current clients emit and accept (sigstore/protobuf-specs TrustedRoot v0.1). */
export const TRUSTED_ROOT_MEDIA_TYPE = 'application/vnd.dev.sigstore.trustedroot+json;version=0.1';

/** The public half of the material: what trust outputs are built from. */
export type PublicTrustMaterial = {
  readonly fulcio: Pick<PkiMaterial['fulcio'], 'root' | 'intermediate'>;
  readonly tsa: Pick<PkiMaterial['tsa'], 'root' | 'intermediate' | 'leaf'>;
  readonly ctlog: Pick<PkiMaterial['ctlog'], 'publicKey' | 'createdAt'>;
  readonly rekor: Pick<PkiMaterial['rekor'], 'publicKey' | 'createdAt'>;
  /** The tile-based logs' keys, when minted (lib/pki/tile-log-keys.ts). */
  readonly tileLogs?: { readonly rekorV2?: PublicLogKey; readonly tesseract?: PublicLogKey };
};

export interface TrustedRootInput {
  readonly material: PublicTrustMaterial;
  readonly urls: ServiceUrls;
  readonly organization: string;
  /**
   * The Rekor and CT logs the environment runs (transparency-logs.ts `transparencyLogs`).
   * @default - Rekor v1 and ct_server with the material's keys at `urls`
   */
  readonly logs?: { readonly rekor: TransparencyLog; readonly ctlog: TransparencyLog };
}

interface TimeRange {
  start: string;
  end?: string;
}

/** protobuf-specs JSON (proto3 JSON field names) of sigstore.trustroot.v1.TrustedRoot. */
export interface TrustedRootJson {
  mediaType: string;
  tlogs: TransparencyLogJson[];
  certificateAuthorities: CertificateAuthorityJson[];
  ctlogs: TransparencyLogJson[];
  timestampAuthorities: CertificateAuthorityJson[];
}

interface TransparencyLogJson {
  baseUrl: string;
  hashAlgorithm: 'SHA2_256';
  publicKey: { rawBytes: string; keyDetails: string; validFor: TimeRange };
  logId: { keyId: string };
}

interface CertificateAuthorityJson {
  subject: { organization: string; commonName: string };
  uri: string;
  certChain: { certificates: { rawBytes: string }[] };
  validFor: TimeRange;
}

/**
 * Builds trusted_root.json: the Fulcio chain (intermediate, root) under certificateAuthorities, the
 * Rekor key under tlogs, the CT log key under ctlogs and the TSA chain (leaf first) under
 * timestampAuthorities. Log ids are SHA-256 of the DER public key. Deterministic: the same material
 * gives the same bytes.
 */
export function buildTrustedRoot(input: TrustedRootInput): TrustedRootJson {
  const { material, urls, organization } = input;
  const trillianLog = (baseUrl: string, key: { publicKey: KeyObject; createdAt: Date }) => ({ baseUrl, ...key, logId: logIdOf(key.publicKey) });
  const logs = input.logs ?? { rekor: trillianLog(urls.rekor, material.rekor), ctlog: trillianLog(urls.ctlog, material.ctlog) };
  return {
    mediaType: TRUSTED_ROOT_MEDIA_TYPE,
    tlogs: [transparencyLog(logs.rekor)],
    certificateAuthorities: [
      certificateAuthority(urls.fulcio, organization, material.fulcio.intermediate, [material.fulcio.intermediate, material.fulcio.root]),
    ],
    ctlogs: [transparencyLog(logs.ctlog)],
    timestampAuthorities: [
      certificateAuthority(urls.tsa, organization, material.tsa.leaf, [material.tsa.leaf, material.tsa.intermediate, material.tsa.root]),
    ],
  };
}

export function serializeTrustedRoot(trustedRoot: TrustedRootJson): string {
  return `${JSON.stringify(trustedRoot, null, 2)}\n`;
}

/**
 * A tlog or ctlog entry. The log id is given: SHA-256 of the SubjectPublicKeyInfo for Rekor v1 and
 * the CT logs, the signed-note key hash of the origin for an Ed25519 Rekor v2 (log-ids.ts).
 */
function transparencyLog(log: Pick<TransparencyLog, 'baseUrl' | 'publicKey' | 'createdAt' | 'logId'>): TransparencyLogJson {
  return {
    baseUrl: log.baseUrl,
    hashAlgorithm: 'SHA2_256',
    publicKey: { rawBytes: spkiDer(log.publicKey).toString('base64'), keyDetails: keyDetails(log.publicKey), validFor: { start: timestamp(log.createdAt) } },
    logId: { keyId: log.logId.toString('base64') },
  };
}

/** `validFor` of a CA spans its first certificate (the issuing one): nothing it signs can be valid outside it. */
function certificateAuthority(uri: string, organization: string, issuing: x509.X509Certificate, chain: x509.X509Certificate[]): CertificateAuthorityJson {
  const commonName = issuing.subjectName.getField('CN')[0] ?? '';
  return {
    subject: { organization, commonName },
    uri,
    certChain: { certificates: chain.map((certificate) => ({ rawBytes: Buffer.from(certificate.rawData).toString('base64') })) },
    validFor: { start: timestamp(issuing.notBefore), end: timestamp(issuing.notAfter) },
  };
}

function keyDetails(publicKey: KeyObject): string {
  // Rekor v2's checkpoint key (sigstore/protobuf-specs PublicKeyDetails PKIX_ED25519).
  if (publicKey.asymmetricKeyType === 'ed25519') return 'PKIX_ED25519';
  switch (curveOf(publicKey)) {
    case 'P-256':
      return 'PKIX_ECDSA_P256_SHA_256';
    case 'P-384':
      return 'PKIX_ECDSA_P384_SHA_384';
    default:
      throw new TypeError('transparency log keys must be EC P-256, P-384 or Ed25519');
  }
}

/** RFC 3339 in UTC, whole seconds (protobuf Timestamp JSON). */
export function timestamp(date: Date): string {
  return new Date(Math.floor(date.getTime() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}
