import type { KeyObject } from 'node:crypto';
import type { Certificate } from '../pki/certificate';
import type { ServiceUrls } from '../config/service-urls';
import { curveOf, logIdOf, spkiDer } from '../pki/keys';
import type { CertificateGeneration, PkiMaterial, TrustHistory } from '../pki/state-items';
import type { LogMigrations } from '../lifecycle/log-migrations';
import type { EnvironmentLogs, PublicLogKey } from './transparency-logs';

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
  /** The log migrations the state records (lib/lifecycle/log-migrations.ts). @default - none */
  readonly logMigrations?: LogMigrations;
  /** Every generation (lib/lifecycle/generations.ts); trusted_root.json lists them all. @default - only the generation above */
  readonly history?: TrustHistory;
};

export interface TrustedRootInput {
  readonly material: PublicTrustMaterial;
  readonly urls: ServiceUrls;
  readonly organization: string;
  /**
   * The Rekor and CT logs the environment runs (transparency-logs.ts `transparencyLogs`).
   * @default - Rekor v1 and ct_server with the material's keys at `urls`
   */
  readonly logs?: EnvironmentLogs;
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
 * timestampAuthorities. Log ids are SHA-256 of the DER public key (the signed-note key hash for an
 * Ed25519 Rekor v2). After a log migration both logs are listed, the old one's validFor ending at
 * the cut-over plus the overlap. Deterministic: the same material gives the same bytes.
 */
export function buildTrustedRoot(input: TrustedRootInput): TrustedRootJson {
  const { urls, organization } = input;
  const history = trustHistoryOf(input.material);
  const issuerOf = (list: readonly CertificateGeneration[], entry: CertificateGeneration) =>
    list.find((candidate) => candidate.generation === (entry.issuerGeneration ?? 1)) ?? list[0];
  // A Trillian-backed log lists every generation of its key (each a log shard, with its validFor); a
  // tile-based log (Rekor v2, TesseraCT: it has an origin) has one key and is listed as given. A
  // migration (lib/lifecycle/log-migrations.ts) keeps the Trillian-backed log, its newest shard's
  // validFor ending at the cut-over plus the overlap, and adds the tile-based one after it.
  const trillianLogs = (baseUrlOf: (generation: number) => string, keys: TrustHistory['rekorKeys'], endOfLast?: Date): TrustedLogEntry[] =>
    keys.map((key, index) => ({
      baseUrl: baseUrlOf(key.generation),
      publicKey: key.publicKey,
      createdAt: key.createdAt,
      logId: logIdOf(key.publicKey),
      validUntil: index === keys.length - 1 && endOfLast ? endOfLast : key.validUntil,
    }));
  const migrated = input.logs?.migrated ?? {};
  const tlogTrillian = () => trillianLogs(() => urls.rekor, history.rekorKeys, migrated.rekor?.previousValidUntil);
  const tlogs = input.logs?.rekor.origin ? [...(migrated.rekor ? tlogTrillian() : []), input.logs.rekor] : tlogTrillian();
  // Each CT log shard has its own prefix: the configured one, then `<prefix>-g<N>` (lib/k8s/sigstore-chart.ts).
  const ctlogTrillian = () =>
    trillianLogs((generation) => (generation === 1 ? urls.ctlog : `${urls.ctlog}-g${generation}`), history.ctlogKeys, migrated.ctlog?.previousValidUntil);
  const ctlogs = input.logs?.ctlog.origin ? [...(migrated.ctlog ? ctlogTrillian() : []), input.logs.ctlog] : ctlogTrillian();
  return {
    mediaType: TRUSTED_ROOT_MEDIA_TYPE,
    tlogs: tlogs.map(transparencyLog),
    certificateAuthorities: history.fulcioIntermediates.map((intermediate) =>
      certificateAuthority(urls.fulcio, organization, intermediate, [intermediate.certificate, issuerOf(history.fulcioRoots, intermediate).certificate]),
    ),
    ctlogs: ctlogs.map(transparencyLog),
    timestampAuthorities: history.tsaLeaves.map((leaf) => {
      const intermediate = issuerOf(history.tsaIntermediates, leaf);
      return certificateAuthority(urls.tsa, organization, leaf, [leaf.certificate, intermediate.certificate, issuerOf(history.tsaRoots, intermediate).certificate]);
    }),
  };
}

/** The material's generations, or (material without history) its one generation. */
export function trustHistoryOf(material: PublicTrustMaterial): TrustHistory {
  if (material.history) return material.history;
  const single = (certificate: Certificate, path: string): CertificateGeneration => ({ generation: 1, path, certificate, issuerGeneration: 1 });
  return {
    fulcioRoots: [single(material.fulcio.root, 'fulcio/root.crt.pem')],
    fulcioIntermediates: [single(material.fulcio.intermediate, 'fulcio/intermediate.crt.pem')],
    tsaRoots: [single(material.tsa.root, 'tsa/root.crt.pem')],
    tsaIntermediates: [single(material.tsa.intermediate, 'tsa/intermediate.crt.pem')],
    tsaLeaves: [single(material.tsa.leaf, 'tsa/leaf.crt.pem')],
    ctlogKeys: [{ generation: 1, ...material.ctlog }],
    rekorKeys: [{ generation: 1, ...material.rekor }],
  };
}

export function serializeTrustedRoot(trustedRoot: TrustedRootJson): string {
  return `${JSON.stringify(trustedRoot, null, 2)}\n`;
}

/** One tlog or ctlog entry, before it is JSON. */
type TrustedLogEntry = Pick<EnvironmentLogs['rekor'], 'baseUrl' | 'publicKey' | 'createdAt' | 'logId'> & { readonly validUntil?: Date };

/**
 * A tlog or ctlog entry. The log id is given: SHA-256 of the SubjectPublicKeyInfo for Rekor v1 and
 * the CT logs, the signed-note key hash of the origin for an Ed25519 Rekor v2 (log-ids.ts).
 */
function transparencyLog(log: TrustedLogEntry): TransparencyLogJson {
  const validFor: TimeRange = { start: timestamp(log.createdAt), ...(log.validUntil ? { end: timestamp(log.validUntil) } : {}) };
  return {
    baseUrl: log.baseUrl,
    hashAlgorithm: 'SHA2_256',
    publicKey: { rawBytes: spkiDer(log.publicKey).toString('base64'), keyDetails: keyDetails(log.publicKey), validFor },
    logId: { keyId: log.logId.toString('base64') },
  };
}

/**
 * `validFor` of a CA spans its first certificate (the issuing one): nothing it signs can be valid
 * outside it. A generation that a rotation superseded ends at the cut-over plus the overlap
 * (`validUntil`), so what it signs verifies only when timestamped before that.
 */
function certificateAuthority(uri: string, organization: string, issuing: CertificateGeneration, chain: Certificate[]): CertificateAuthorityJson {
  const certificate = issuing.certificate;
  const commonName = certificate.subjectField('CN')[0] ?? '';
  const end = issuing.validUntil && issuing.validUntil.getTime() < certificate.notAfter.getTime() ? issuing.validUntil : certificate.notAfter;
  return {
    subject: { organization, commonName },
    uri,
    certChain: { certificates: chain.map((entry) => ({ rawBytes: entry.der.toString('base64') })) },
    validFor: { start: timestamp(certificate.notBefore), end: timestamp(end) },
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
