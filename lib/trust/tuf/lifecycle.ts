import { createHash } from 'node:crypto';
import { Metadata, MetaFile, Root, Snapshot, TargetFile, Targets, Timestamp, type Key } from '@tufjs/models';
import { addDuration } from '../../config/duration';
import type { SigstoreConfig, TufRoleName } from '../../config/schema';
import { ConfigError, TufError } from '../../errors';
import type { BootstrapContext } from '../../pki/bootstrap';
import { spkiSha256 } from '../../pki/keys';
import type { Signer } from '../../pki/signer';
import { silentProgress, type Progress } from '../../progress';
import type { StateSnapshot } from '../../state/store';
import { timestamp, type PublicTrustMaterial } from '../trusted-root';
import { expiryStatus, type ExpiryStatus } from './expiry';
import { serializeMetadata, signMetadata, tufKeyFor, type AnyMetadata } from './metadata-signing';
import { hasTufRepository, readTufRepository, type TufRepository } from './repository';
import { ensureRoleKeys, roleSigners, type RoleSigners } from './role-keys';
import { buildTufTargets, type TufTarget } from './targets';
import { ONLINE_ROLES, TIMESTAMP_ITEM, targetFileItem, versionedMetadataItem, type OnlineRoleName } from './tuf-state';

/** The TUF specification version written into new metadata (as sigstore/root-signing writes it). */
export const TUF_SPEC_VERSION = '1.0';

export interface TufSigningContext {
  readonly config: SigstoreConfig;
  /** The trust material the targets are built from. */
  readonly material: PublicTrustMaterial;
  /**
   * The TUF root key's signer (wrapped in the ceremony log). Asked for only when root metadata must be
   * signed, so a refresh of the online roles never needs the root key (or KMS).
   */
  readonly rootSigner: () => Promise<Signer>;
  /**
   * A root key by the reference the state recorded for it (wrapped in the ceremony log): how a due
   * root is re-signed once the root keys have generations (a rotation, several keys). Asked only for
   * the current generation's first `threshold` keys. @default - `rootSigner` alone
   */
  readonly rootKeySigner?: (keyRef: string) => Promise<Signer>;
  /**
   * The signers of the configured TUF root keys (`tuf.root.keys`), for version 1 of a new repository:
   * each signs it, and the root role gets `tuf.root.threshold`. @default - `rootSigner` alone, threshold 1
   */
  readonly configuredRootSigners?: () => Promise<readonly Signer[]>;
  /** The time new metadata is signed at; expiry counts from it. */
  readonly now: Date;
  /** @default - silent */
  readonly progress?: Progress;
}

/** One new metadata version that a create or refresh put into the state. */
export interface TufPublication {
  readonly role: TufRoleName;
  readonly version: number;
  readonly expires: string;
  /** Why: `new repository`, `expires … (due)`, `expired …`, `trust material changed`, `new targets v3`, `new snapshot v4`. */
  readonly reason: string;
}

/**
 * Creates version 1 of every role when the state has no TUF repository: the role keys (local, in the
 * state), root signed by the TUF root key, targets built from the trust material, snapshot, timestamp.
 * Returns what it published (nothing when the repository exists: it is never re-signed here).
 */
export async function ensureTufRepository(snapshot: StateSnapshot, context: TufSigningContext): Promise<TufPublication[]> {
  if (hasTufRepository(snapshot)) return [];
  const { config, now } = context;
  const progress = context.progress ?? silentProgress;
  const signers = ensureRoleKeys(snapshot, now);
  const published: TufPublication[] = [];
  const reason = 'new repository';

  // The configured root keys (tuf.root.keys, several with a threshold) or, by default, the signer's TUF root key alone.
  const rootSigners = context.configuredRootSigners ? [...(await context.configuredRootSigners())] : [await context.rootSigner()];
  const threshold = context.configuredRootSigners ? config.tuf.root.threshold : 1;
  const rootPins: { keyRef: string; spkiSha256: string; pinnedAt: string }[] = [];
  for (const rootSigner of rootSigners) {
    const spki = spkiSha256(await rootSigner.publicKey());
    const twice = rootPins.find((pin) => pin.spkiSha256 === spki);
    if (twice) throw new ConfigError('CONFIG_INVALID', `tuf.root.keys names one key twice (${twice.keyRef} and ${rootSigner.keyRef}): each root key counts once`);
    rootPins.push({ keyRef: rootSigner.keyRef, spkiSha256: spki, pinnedAt: now.toISOString() });
  }
  // Pinned before the signature: a TUF root key pinned to another key is refused unsigned.
  snapshot.pinRootKey('tuf', rootPins[0]);
  if (rootPins.length > 1 || threshold > 1) snapshot.addTufRootKeyGeneration({ generation: 1, firstVersion: 1, threshold, keys: rootPins });
  let root = new Root({ version: 1, specVersion: TUF_SPEC_VERSION, expires: expiresAt(config, 'root', now), consistentSnapshot: true });
  for (const rootSigner of rootSigners) root.addKey(tufKeyFor(await rootSigner.publicKey(), rootSigner.keyRef), 'root');
  for (const role of ONLINE_ROLES) root.addKey(tufKeyFor(await signers[role].publicKey(), signers[role].keyRef), role);
  if (threshold > 1) {
    // @tufjs/models' Root has no threshold setter (and exports no Role): the root is rebuilt from its JSON with the threshold.
    const json = root.toJSON() as { roles: Record<string, { keyids: string[]; threshold: number }> };
    json.roles.root.threshold = threshold;
    root = Root.fromJSON(json as Parameters<typeof Root.fromJSON>[0]);
  }
  await progress.step('sign TUF root v1', async () => {
    const metadata = new Metadata(root);
    for (const rootSigner of rootSigners) await signMetadata(metadata, rootSigner, 'tuf root metadata v1');
    addVersioned(snapshot, 'root', metadata, now, rootSigners.map((rootSigner) => rootSigner.keyRef).join(','));
  });
  published.push({ role: 'root', version: 1, expires: root.expires, reason });

  const targets = await publishTargets(snapshot, context, signers, 1, buildTufTargets(context.material, config), progress);
  published.push({ role: 'targets', version: 1, expires: targets.metadata.signed.expires, reason });
  const snapshotMetadata = await publishSnapshot(snapshot, context, signers, 1, targets, progress);
  published.push({ role: 'snapshot', version: 1, expires: snapshotMetadata.metadata.signed.expires, reason });
  const timestampMetadata = await publishTimestamp(snapshot, context, signers, 1, snapshotMetadata, progress);
  published.push({ role: 'timestamp', version: 1, expires: timestampMetadata.signed.expires, reason });
  return published;
}

/** The bootstrap step (`BootstrapOptions.extend`) that creates the repository when the state has none. */
export function tufRepositoryStep(config: SigstoreConfig): (context: BootstrapContext) => Promise<void> {
  return async ({ snapshot, material, rootSigner, tufRootSigners, clock, progress }) => {
    await ensureTufRepository(snapshot, {
      config,
      material,
      rootSigner: () => rootSigner('tuf'),
      // Only an explicit tuf.root.keys changes version 1: environments without it get exactly what they always got.
      ...(config.tuf.root.keys ? { configuredRootSigners: tufRootSigners } : {}),
      now: clock(),
      progress,
    });
  };
}

/**
 * `tuf refresh`: publishes a new version of every role that is due (expires within its refreshBefore
 * window, or has expired), and new targets when the trust material or the URLs changed; a new targets
 * version brings a new snapshot, and a new snapshot a new timestamp. Root versions are signed by the
 * root key (which must be the key the current root trusts). Returns what it published; nothing when
 * nothing was due, and then the state is left byte for byte as it was.
 */
export async function refreshTufRepository(snapshot: StateSnapshot, context: TufSigningContext): Promise<TufPublication[]> {
  const { config, now } = context;
  const progress = context.progress ?? silentProgress;
  const repository = readTufRepository(snapshot);
  const signers = roleSigners(snapshot);
  for (const role of ONLINE_ROLES) expectTrusted(repository.root, role, tufKeyFor(await signers[role].publicKey(), signers[role].keyRef));
  const published: TufPublication[] = [];
  const status = (role: TufRoleName, expires: string) => expiryStatus(expires, role, config, now);
  const due = (expiryState: ExpiryStatus, expires: string) => (expiryState === 'expired' ? `expired ${expires}` : `expires ${expires} (due)`);

  const rootState = status('root', repository.root.signed.expires);
  if (rootState !== 'valid') {
    const version = repository.root.signed.version + 1;
    const generations = snapshot.tufRootKeyGenerations();
    const generation = generations[generations.length - 1];
    const rootSigners: Signer[] = [];
    if (context.rootKeySigner && generation) {
      for (const pin of generation.keys.slice(0, generation.threshold)) rootSigners.push(await context.rootKeySigner(pin.keyRef));
    } else {
      rootSigners.push(await context.rootSigner());
    }
    for (const rootSigner of rootSigners) expectTrusted(repository.root, 'root', tufKeyFor(await rootSigner.publicKey(), rootSigner.keyRef));
    const previous = repository.root.signed;
    const root = new Root({
      version,
      specVersion: previous.specVersion,
      expires: expiresAt(config, 'root', now),
      keys: previous.keys,
      roles: previous.roles,
      consistentSnapshot: true,
    });
    await progress.step(`sign TUF root v${version}`, async () => {
      const metadata = new Metadata(root);
      for (const rootSigner of rootSigners) await signMetadata(metadata, rootSigner, `tuf root metadata v${version}`);
      addVersioned(snapshot, 'root', metadata, now, rootSigners.map((rootSigner) => rootSigner.keyRef).join(','));
    });
    published.push({ role: 'root', version, expires: root.expires, reason: due(rootState, previous.expires) });
  }

  const wanted = buildTufTargets(context.material, config);
  const changed = !sameTargets(repository.targets.signed, wanted);
  const targetsState = status('targets', repository.targets.signed.expires);
  let targets: SignedFile<Targets> = servedFile(repository, 'targets', repository.targets);
  if (changed || targetsState !== 'valid') {
    targets = await publishTargets(snapshot, context, signers, repository.targets.signed.version + 1, wanted, progress);
    const reason = changed ? 'trust material changed' : due(targetsState, repository.targets.signed.expires);
    published.push({ role: 'targets', version: targets.metadata.signed.version, expires: targets.metadata.signed.expires, reason });
  }

  const snapshotState = status('snapshot', repository.snapshot.signed.expires);
  let snapshotFile: SignedFile<Snapshot> = servedFile(repository, 'snapshot', repository.snapshot);
  if (targets.metadata !== repository.targets || snapshotState !== 'valid') {
    snapshotFile = await publishSnapshot(snapshot, context, signers, repository.snapshot.signed.version + 1, targets, progress);
    const reason = targets.metadata !== repository.targets ? `new targets v${targets.metadata.signed.version}` : due(snapshotState, repository.snapshot.signed.expires);
    published.push({ role: 'snapshot', version: snapshotFile.metadata.signed.version, expires: snapshotFile.metadata.signed.expires, reason });
  }

  const timestampState = status('timestamp', repository.timestamp.signed.expires);
  if (snapshotFile.metadata !== repository.snapshot || timestampState !== 'valid') {
    const metadata = await publishTimestamp(snapshot, context, signers, repository.timestamp.signed.version + 1, snapshotFile, progress);
    const reason =
      snapshotFile.metadata !== repository.snapshot ? `new snapshot v${snapshotFile.metadata.signed.version}` : due(timestampState, repository.timestamp.signed.expires);
    published.push({ role: 'timestamp', version: metadata.signed.version, expires: metadata.signed.expires, reason });
  }
  return published;
}

/** Whether the targets metadata lists exactly `wanted` (names, lengths, hashes and custom metadata). */
export function sameTargets(targets: Targets, wanted: readonly TufTarget[]): boolean {
  const expected = targetFiles(wanted);
  const names = Object.keys(targets.targets);
  return names.length === expected.length && expected.every((file) => targets.targets[file.path]?.equals(file) === true);
}

/** A metadata file with the exact bytes the repository serves (what snapshot and timestamp hash). */
interface SignedFile<T extends Targets | Snapshot> {
  readonly metadata: Metadata<T>;
  readonly bytes: Buffer;
}

function servedFile<T extends Targets | Snapshot>(repository: TufRepository, role: 'targets' | 'snapshot', metadata: Metadata<T>): SignedFile<T> {
  const path = `${metadata.signed.version}.${role}.json`;
  const bytes = repository.files.get(path);
  if (!bytes) throw new TufError('TUF_REPOSITORY_INVALID', `the TUF repository in the state lacks ${path}`);
  return { metadata, bytes };
}

async function publishTargets(
  snapshot: StateSnapshot,
  context: TufSigningContext,
  signers: RoleSigners,
  version: number,
  wanted: readonly TufTarget[],
  progress: Progress,
): Promise<SignedFile<Targets>> {
  const targets = new Targets({ version, specVersion: TUF_SPEC_VERSION, expires: expiresAt(context.config, 'targets', context.now) });
  for (const file of targetFiles(wanted)) targets.addTarget(file);
  for (const target of wanted) {
    const item = targetFileItem(target.name, sha256(target.content));
    if (snapshot.item(item.id)) continue;
    snapshot.addItem(item.id, { mintedAt: context.now, files: { content: { path: item.files.content, content: target.content } } });
  }
  return progress.step(`sign TUF targets v${version} (${wanted.length} targets)`, () =>
    signAndStore(snapshot, 'targets', new Metadata(targets), signers.targets, context.now),
  );
}

async function publishSnapshot(
  snapshot: StateSnapshot,
  context: TufSigningContext,
  signers: RoleSigners,
  version: number,
  targets: SignedFile<Targets>,
  progress: Progress,
): Promise<SignedFile<Snapshot>> {
  const snapshotRole = new Snapshot({
    version,
    specVersion: TUF_SPEC_VERSION,
    expires: expiresAt(context.config, 'snapshot', context.now),
    meta: { 'targets.json': metaFileOf(targets) },
  });
  return progress.step(`sign TUF snapshot v${version}`, () => signAndStore(snapshot, 'snapshot', new Metadata(snapshotRole), signers.snapshot, context.now));
}

async function publishTimestamp(
  snapshot: StateSnapshot,
  context: TufSigningContext,
  signers: RoleSigners,
  version: number,
  snapshotFile: SignedFile<Snapshot>,
  progress: Progress,
): Promise<Metadata<Timestamp>> {
  const timestampRole = new Timestamp({
    version,
    specVersion: TUF_SPEC_VERSION,
    expires: expiresAt(context.config, 'timestamp', context.now),
    snapshotMeta: metaFileOf(snapshotFile),
  });
  const metadata = new Metadata(timestampRole);
  await progress.step(`sign TUF timestamp v${version}`, () => signMetadata(metadata, signers.timestamp, `tuf timestamp metadata v${version}`));
  const item = { mintedAt: context.now, signedBy: signers.timestamp.keyRef, files: { metadata: { path: TIMESTAMP_ITEM.files.metadata, content: serializeMetadata(metadata) } } };
  if (snapshot.item(TIMESTAMP_ITEM.id)) snapshot.supersedeItem(TIMESTAMP_ITEM.id, item);
  else snapshot.addItem(TIMESTAMP_ITEM.id, item);
  return metadata;
}

async function signAndStore<T extends Targets | Snapshot>(
  snapshot: StateSnapshot,
  role: OnlineRoleName & ('targets' | 'snapshot'),
  metadata: Metadata<T>,
  signer: Signer,
  now: Date,
): Promise<SignedFile<T>> {
  await signMetadata(metadata as AnyMetadata, signer, `tuf ${role} metadata v${metadata.signed.version}`);
  const bytes = addVersioned(snapshot, role, metadata as AnyMetadata, now, signer.keyRef);
  return { metadata, bytes };
}

function addVersioned(snapshot: StateSnapshot, role: 'root' | 'targets' | 'snapshot', metadata: AnyMetadata, now: Date, signedBy: string): Buffer {
  const item = versionedMetadataItem(role, metadata.signed.version);
  const bytes = Buffer.from(serializeMetadata(metadata));
  snapshot.addItem(item.id, { mintedAt: now, signedBy, files: { metadata: { path: item.files.metadata, content: bytes } } });
  return bytes;
}

function targetFiles(wanted: readonly TufTarget[]): TargetFile[] {
  return wanted.map(
    (target) =>
      new TargetFile({
        path: target.name,
        length: Buffer.byteLength(target.content),
        hashes: { sha256: sha256(target.content) },
        unrecognizedFields: target.custom ? { custom: { sigstore: { ...target.custom.sigstore } } } : {},
      }),
  );
}

function metaFileOf(file: SignedFile<Targets | Snapshot>): MetaFile {
  return new MetaFile({ version: file.metadata.signed.version, length: file.bytes.length, hashes: { sha256: sha256(file.bytes) } });
}

/** Refuses to sign with a key the current root does not trust for the role (the state and the signer disagree). */
function expectTrusted(root: Metadata<Root>, role: TufRoleName, key: Key): void {
  if (root.signed.roles[role]?.keyIDs.includes(key.keyID)) return;
  throw new TufError(
    'TUF_ROOT_KEY_MISMATCH',
    `the TUF root v${root.signed.version} in the state does not trust key ${key.keyID} for the ${role} role ` +
      `(trusted: ${root.signed.roles[role]?.keyIDs.join(', ') || 'none'}); use the signer and state that created the repository`,
  );
}

function expiresAt(config: SigstoreConfig, role: TufRoleName, now: Date): string {
  return timestamp(addDuration(now, config.tuf.expiry[role]));
}

function sha256(content: string | Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}
