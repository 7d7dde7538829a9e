import { createPublicKey } from 'node:crypto';
import { Metadata, Root, type Key } from '@tufjs/models';
import { addDuration } from '../../config/duration';
import type { SigstoreConfig } from '../../config/schema';
import { ConfigError, TufError } from '../../errors';
import { spkiSha256 } from '../../pki/keys';
import type { Signer } from '../../pki/signer';
import { silentProgress, type Progress } from '../../progress';
import type { TufRootKeyGeneration } from '../../state/manifest';
import type { StateSnapshot } from '../../state/store';
import { timestamp } from '../trusted-root';
import { serializeMetadata, signMetadata, tufKeyFor } from './metadata-signing';
import { readTufRepository } from './repository';
import { versionedMetadataItem } from './tuf-state';

/** Where the signers of a root version come from; each is wrapped in the ceremony log by the caller. */
export interface TufRootSigners {
  /** The keys the configuration names now (`tuf.root.keys`, or the signer's TUF root key), in order. */
  readonly configured: () => Promise<readonly Signer[]>;
  /** A key of an earlier generation, by the reference the state recorded (`otc-kms:<id>`, `local:signer/…`). */
  readonly byKeyRef: (keyRef: string) => Promise<Signer>;
}

export interface TufRootRotationContext {
  readonly config: SigstoreConfig;
  readonly signers: TufRootSigners;
  /** The time the new root is signed at; its expiry counts from it. */
  readonly now: Date;
  /** @default - silent */
  readonly progress?: Progress;
}

/** One generation of root keys as a rotation reports it. */
export interface TufRootGenerationSummary {
  readonly generation: number;
  readonly threshold: number;
  readonly keys: readonly { readonly keyRef: string; readonly keyId: string }[];
}

export interface TufRootRotation {
  /** The root version that was current, and its generation of keys. */
  readonly from: TufRootGenerationSummary & { readonly version: number };
  /** The new root version and its generation. */
  readonly to: TufRootGenerationSummary & { readonly version: number; readonly expires: string };
  /** Who signed the new version, in signing order: the previous generation's threshold, then every new key. */
  readonly signedBy: readonly string[];
}

/**
 * `rotate tuf-root`: publishes root v(N+1) whose root role is the configured keys and threshold,
 * signed by a threshold of v N's root keys (the previous generation, found by the key references the
 * state recorded) and by every configured key (so each new key is shown to work), as the TUF
 * specification (5.3) asks of a client walking the chain: v(N+1) must verify with the threshold of v N's
 * root role and with its own. The other roles' keys are kept. Records the new generation of root keys
 * in the manifest. Every signer is resolved (KMS keys looked up) before the first signature.
 */
export async function rotateTufRootKeys(snapshot: StateSnapshot, context: TufRootRotationContext): Promise<TufRootRotation> {
  const { config, now } = context;
  const progress = context.progress ?? silentProgress;
  const repository = readTufRepository(snapshot);
  const current = repository.root;
  const generations = snapshot.tufRootKeyGenerations();
  const currentGeneration = generations[generations.length - 1];
  if (!currentGeneration) throw new TufError('TUF_REPOSITORY_INVALID', `the state for "${snapshot.env}" has TUF metadata but no pinned TUF root key`);
  const threshold = config.tuf.root.threshold;

  const newSigners = await context.signers.configured();
  const newKeys: { signer: Signer; key: Key; spki: string }[] = [];
  for (const signer of newSigners) {
    const publicKey = await signer.publicKey();
    const key = tufKeyFor(publicKey, signer.keyRef);
    if (newKeys.some((known) => known.key.keyID === key.keyID)) {
      throw new ConfigError('CONFIG_INVALID', `tuf.root.keys names the key ${key.keyID} (${signer.keyRef}) twice: each root key counts once`);
    }
    newKeys.push({ signer, key, spki: spkiSha256(publicKey) });
  }
  const currentRole = current.signed.roles.root;
  const newIds = newKeys.map(({ key }) => key.keyID);
  if (threshold === currentRole.threshold && sameSet(newIds, currentRole.keyIDs)) {
    throw new ConfigError(
      'CONFIG_INVALID',
      `tuf.root names the keys and threshold TUF root v${current.signed.version} already has (threshold ${threshold}, ${newKeys.map(({ signer }) => signer.keyRef).join(', ')}): ` +
        'nothing to rotate. Put the next generation\'s keys in tuf.root.keys (for KMS a new alias, e.g. "-g2", created by "sigstore-cdk keys ensure"), or change tuf.root.threshold',
    );
  }

  // The previous generation's signatures: keys kept in the new set sign anyway; the rest, in order, until its threshold is met.
  const keptOld = newIds.filter((id) => currentRole.keyIDs.includes(id)).length;
  const oldKeyRefs = currentGeneration.keys
    .filter((pin) => !newKeys.some(({ spki }) => spki === pin.spkiSha256))
    .map((pin) => pin.keyRef)
    .slice(0, Math.max(0, currentRole.threshold - keptOld));
  const oldSigners: Signer[] = [];
  for (const keyRef of oldKeyRefs) oldSigners.push(await context.signers.byKeyRef(keyRef));
  for (const signer of oldSigners) {
    const key = tufKeyFor(await signer.publicKey(), signer.keyRef);
    if (!currentRole.keyIDs.includes(key.keyID)) {
      throw new TufError('TUF_ROOT_KEY_MISMATCH', `the key ${signer.keyRef} of TUF root generation ${currentGeneration.generation} is not a root key of TUF root v${current.signed.version}`);
    }
  }

  const version = current.signed.version + 1;
  const previous = current.signed;
  // Built as the JSON clients read (@tufjs/models exports no Role class): the other roles and their keys as they were, the new root role.
  const json = previous.toJSON() as { keys: Record<string, unknown>; roles: Record<string, { keyids: string[] }> } & Record<string, unknown>;
  const keys: Record<string, unknown> = {};
  for (const [name, role] of Object.entries(json.roles)) {
    if (name === 'root') continue;
    for (const keyId of role.keyids) keys[keyId] = json.keys[keyId];
  }
  for (const { key } of newKeys) keys[key.keyID] = key.toJSON();
  const root = Root.fromJSON({
    ...json,
    version,
    expires: timestamp(addDuration(now, config.tuf.expiry.root)),
    consistent_snapshot: true,
    keys,
    roles: { ...json.roles, root: { keyids: newIds, threshold } },
  } as Parameters<typeof Root.fromJSON>[0]);
  const metadata = new Metadata(root);
  const purpose = `tuf root metadata v${version}`;
  const signers = [...oldSigners, ...newKeys.map(({ signer }) => signer)];
  for (const signer of signers) await progress.step(`sign TUF root v${version} with ${signer.keyRef}`, () => signMetadata(metadata, signer, purpose));
  // What a client checks (TUF 5.3.4, 5.3.5): the old threshold, then the new one.
  try {
    current.verifyDelegate('root', metadata);
    metadata.verifyDelegate('root', metadata);
  } catch (error) {
    throw new TufError('TUF_ROOT_KEY_MISMATCH', `TUF root v${version} does not verify as clients would check it: ${(error as Error).message}; nothing was written`);
  }

  const item = versionedMetadataItem('root', version);
  snapshot.addItem(item.id, {
    mintedAt: now,
    signedBy: signers.map((signer) => signer.keyRef).join(','),
    files: { metadata: { path: item.files.metadata, content: serializeMetadata(metadata) } },
  });
  const generation: TufRootKeyGeneration = {
    generation: currentGeneration.generation + 1,
    firstVersion: version,
    threshold,
    keys: newKeys.map(({ signer, spki }) => currentGeneration.keys.find((pin) => pin.spkiSha256 === spki && pin.keyRef === signer.keyRef) ?? { keyRef: signer.keyRef, spkiSha256: spki, pinnedAt: now.toISOString() }),
  };
  snapshot.addTufRootKeyGeneration(generation);

  return {
    from: { version: previous.version, generation: currentGeneration.generation, threshold: currentRole.threshold, keys: summarizeKeys(currentGeneration, previous) },
    to: { version, expires: root.expires, generation: generation.generation, threshold, keys: newKeys.map(({ signer, key }) => ({ keyRef: signer.keyRef, keyId: key.keyID })) },
    signedBy: signers.map((signer) => signer.keyRef),
  };
}

/** The root keys of a root version, each with the key reference its generation pinned for it. */
function summarizeKeys(generation: TufRootKeyGeneration, root: Root): { keyRef: string; keyId: string }[] {
  return root.roles.root.keyIDs.map((keyId) => {
    const pem = root.keys[keyId]?.keyVal.public;
    const spki = pem ? spkiSha256(createPublicKey(pem)) : undefined;
    return { keyId, keyRef: generation.keys.find((pin) => pin.spkiSha256 === spki)?.keyRef ?? 'unpinned' };
  });
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((value) => b.includes(value));
}
