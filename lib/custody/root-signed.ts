import { createHash, type KeyObject } from 'node:crypto';
import { canonicalize } from '@tufjs/canonical-json';
import type { Certificate } from '../pki/certificate';
import { StateError } from '../errors';
import { publicKeyFromPem, spkiSha256 } from '../pki/keys';
import { parsePemCertificate } from '../pki/parsed-certificates';
import type { RootName } from '../pki/root-keys';
import { ecdsaAlgorithmFor } from '../pki/signature-algorithm';
import { generationsOf } from '../lifecycle/generations';
import type { RootKeyPin, TufRootKeyGeneration } from '../state/manifest';
import type { StateSnapshot } from '../state/store';
import { versionedMetadataItem, versionsInState } from '../trust/tuf/tuf-state';

/** Something in the state that a root key signed: a root or intermediate certificate, or a TUF root version. */
export interface RootSignedArtifact {
  readonly root: RootName;
  /** The state item, e.g. `fulcio-intermediate`, `tuf-root-v2`. */
  readonly itemId: string;
  /** Its file in the state, for messages. */
  readonly path: string;
  /** As the ceremony log names it: `fulcio-root certificate`, `tuf root metadata v2`. */
  readonly purpose: string;
  /** The key reference the manifest says signed it. */
  readonly signedBy: string | undefined;
  /** The bytes the key signed: the DER TBSCertificate, or the canonical JSON of the metadata's `signed`. */
  readonly signedBytes: Buffer;
  /** The DER ECDSA signature over them. */
  readonly signature: Buffer;
  /** The key it claims to be signed by: the root certificate's key, or the TUF root key the metadata names. */
  readonly signerKey: KeyObject;
  /** For a self-signed root certificate and a TUF root: the key it certifies, which must be the pinned key. */
  readonly certifiedKey?: KeyObject;
  /** Hex digest of `signedBytes` with the hash the signer's curve uses (what the ceremony log records). */
  readonly digest: string;
  readonly digestAlgorithm: 'SHA-256' | 'SHA-384';
  /**
   * The pinned key it must be signed by: for a certificate, the key of the root generation that
   * signed it (when that is not generation 1, whose pin is `rootKeys`); for a TUF root signature, the
   * key of the generation (the version's or its predecessor's) with the signer's SPKI, or `null` when
   * no generation pinned it.
   * @default - the root's pin (`rootKeys.<root>`)
   */
  readonly pin?: RootKeyPin | null;
}

/** The TUF root key generation whose keys root version `version` names (the newest that starts at or before it). */
export function generationOf(generations: readonly TufRootKeyGeneration[], version: number): TufRootKeyGeneration | undefined {
  if (version < 1) return undefined;
  return [...generations].reverse().find((generation) => generation.firstVersion <= version);
}

/** The root-signed certificate items: each root (self-signed) and the intermediate it issues. */
const CERTIFICATES = [
  { root: 'fulcio', item: 'fulcio-root', issuer: 'fulcio-root' },
  { root: 'fulcio', item: 'fulcio-intermediate', issuer: 'fulcio-root' },
  { root: 'tsa', item: 'tsa-root', issuer: 'tsa-root' },
  { root: 'tsa', item: 'tsa-intermediate', issuer: 'tsa-root' },
] as const;

/**
 * Everything the state holds that a root key signed, present items only (a partial state gives what
 * it has): every generation of the Fulcio and TSA roots and intermediates, and every TUF root
 * version. A root after generation 1 carries the key its generation pinned (`pin`). Throws a
 * StateError when one does not parse.
 */
export function rootSignedArtifacts(snapshot: StateSnapshot): RootSignedArtifact[] {
  const artifacts: RootSignedArtifact[] = [];
  for (const { root, item, issuer } of CERTIFICATES) {
    const issuers = generationsOf(snapshot, issuer);
    for (const generation of generationsOf(snapshot, item)) {
      const issuing = item === issuer ? generation : issuers.find((candidate) => candidate.generation === (generation.issuerGeneration ?? 1));
      if (!issuing || !snapshot.item(generation.itemId) || !snapshot.item(issuing.itemId)) continue;
      const stateItem = { id: generation.itemId, files: { certificate: generation.files.certificate } };
      const certificate = parseCertificate(snapshot, stateItem);
      const issuerKey = item === issuer ? certificate.publicKey : parseCertificate(snapshot, { id: issuing.itemId, files: { certificate: issuing.files.certificate } }).publicKey;
      artifacts.push(
        withDigest({
          root,
          itemId: generation.itemId,
          path: generation.files.certificate,
          purpose: `${generation.itemId} certificate`,
          signedBy: snapshot.item(generation.itemId)?.signedBy,
          signedBytes: certificate.tbs,
          signature: certificate.signature,
          signerKey: issuerKey,
          ...(item === issuer ? { certifiedKey: certificate.publicKey } : {}),
          ...(issuing.rootKey ? { pin: issuing.rootKey } : {}),
        }),
      );
    }
  }
  // A TUF root version is signed by its own root keys and, from v2 on, by its predecessor's: one
  // artifact per signature of either, each checked against the key its generation pinned.
  const generations = snapshot.tufRootKeyGenerations();
  let previous: ParsedRootMetadata | undefined;
  for (const version of versionsInState(snapshot.itemIds, 'root')) {
    const item = versionedMetadataItem('root', version);
    const metadata = parseRootMetadata(snapshot, item.id, item.files.metadata);
    for (const keyId of metadata.rootKeyIds) {
      if (!metadata.keys.has(keyId)) throw new StateError('STATE_CORRUPT', `${item.files.metadata} names root key ${keyId} but does not list it under keys`);
    }
    const pins = [generationOf(generations, version), generationOf(generations, version - 1)].flatMap((generation) => generation?.keys ?? []);
    const signingKeys = new Map<string, KeyObject>();
    for (const keyId of previous?.rootKeyIds ?? []) signingKeys.set(keyId, previous!.keys.get(keyId)!);
    for (const keyId of metadata.rootKeyIds) signingKeys.set(keyId, metadata.keys.get(keyId)!);
    // A root version without any signature of its root keys still yields one artifact (an unsigned one), so it is reported.
    const signed = [...signingKeys.keys()].filter((keyId) => metadata.signatures.has(keyId));
    for (const keyId of signed.length > 0 ? signed : metadata.rootKeyIds.slice(0, 1)) {
      const key = signingKeys.get(keyId)!;
      const spki = spkiSha256(key);
      artifacts.push(
        withDigest({
          root: 'tuf',
          itemId: item.id,
          path: item.files.metadata,
          purpose: `tuf root metadata v${version}`,
          signedBy: snapshot.item(item.id)?.signedBy,
          signedBytes: metadata.signedBytes,
          signature: metadata.signatures.get(keyId) ?? Buffer.alloc(0),
          signerKey: key,
          certifiedKey: key,
          pin: pins.find((pin) => pin.spkiSha256 === spki) ?? (generations.length > 0 ? null : undefined),
        }),
      );
    }
    previous = metadata;
  }
  return artifacts;
}

function withDigest(artifact: Omit<RootSignedArtifact, 'digest' | 'digestAlgorithm'>): RootSignedArtifact {
  const algorithm = ecdsaAlgorithmFor(artifact.signerKey, artifact.signedBy ?? artifact.path);
  return { ...artifact, digestAlgorithm: algorithm.hash, digest: createHash(algorithm.nodeHash).update(artifact.signedBytes).digest('hex') };
}

/** The certificate of a state item, parsed once per snapshot (its TBSCertificate and signature are read with it). */
function parseCertificate(snapshot: StateSnapshot, item: { id: string; files: { certificate: string } }): Certificate {
  try {
    return parsePemCertificate(snapshot, snapshot.file(item.id, 'certificate').toString('utf8'));
  } catch (error) {
    if (error instanceof StateError) throw error;
    throw new StateError('STATE_CORRUPT', `${item.files.certificate} is not a PEM certificate: ${(error as Error).message}`);
  }
}

interface ParsedRootMetadata {
  readonly signedBytes: Buffer;
  readonly rootKeyIds: readonly string[];
  readonly keys: ReadonlyMap<string, KeyObject>;
  readonly signatures: ReadonlyMap<string, Buffer>;
}

/** The parts of a TUF root that custody checks need, read from the JSON as clients read it. */
function parseRootMetadata(snapshot: StateSnapshot, itemId: string, path: string): ParsedRootMetadata {
  try {
    const json = JSON.parse(snapshot.file(itemId, 'metadata').toString('utf8'));
    const signed = json.signed;
    const keys = new Map<string, KeyObject>();
    for (const [keyId, key] of Object.entries(signed.keys as Record<string, { keyval: { public: string } }>)) keys.set(keyId, publicKeyFromPem(key.keyval.public));
    const signatures = new Map<string, Buffer>();
    for (const { keyid, sig } of json.signatures as { keyid: string; sig: string }[]) signatures.set(keyid, Buffer.from(sig, 'hex'));
    return { signedBytes: Buffer.from(canonicalize(signed)), rootKeyIds: signed.roles.root.keyids, keys, signatures };
  } catch (error) {
    if (error instanceof StateError) throw error;
    throw new StateError('STATE_CORRUPT', `${path} is not TUF root metadata sigstore-cdk wrote: ${(error as Error).message}`);
  }
}
