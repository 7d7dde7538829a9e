import { Metadata, MetadataKind, type Root, type Snapshot, type Targets, type Timestamp } from '@tufjs/models';
import { TufError } from '../../errors';
import type { StateSnapshot } from '../../state/store';
import { TIMESTAMP_ITEM, TUF_REPOSITORY_DIRECTORY, versionedMetadataItem, versionsInState } from './tuf-state';

/** The TUF repository as the state holds it: every version, and the bytes of every published file. */
export interface TufRepository {
  /** Every root version, ascending; `roots[i]` is version i + 1. */
  readonly roots: readonly Metadata<Root>[];
  /** The newest root, targets and snapshot, and the timestamp. */
  readonly root: Metadata<Root>;
  readonly targets: Metadata<Targets>;
  readonly snapshot: Metadata<Snapshot>;
  readonly timestamp: Metadata<Timestamp>;
  /** Every published file, by path relative to the repository (`3.root.json`, `targets/<sha256>.<name>`). */
  readonly files: ReadonlyMap<string, Buffer>;
}

/** Whether the state holds a TUF repository (its version 1 root). */
export function hasTufRepository(snapshot: StateSnapshot): boolean {
  return snapshot.item(versionedMetadataItem('root', 1).id) !== undefined;
}

/**
 * Reads the repository from the state. Throws a TufError when it is missing or when a version is
 * absent or unparseable; signatures, hashes and expiry are checked by `verifyTufRepository`.
 */
export function readTufRepository(snapshot: StateSnapshot): TufRepository {
  if (!hasTufRepository(snapshot)) {
    throw new TufError(
      'TUF_REPOSITORY_MISSING',
      `state for "${snapshot.env}" has no TUF repository; run "sigstore-cdk bootstrap --env ${snapshot.env}" (or synth, with the local signer)`,
    );
  }
  const itemIds = snapshot.itemIds;
  const versions = (role: 'root' | 'targets' | 'snapshot') => {
    const found = versionsInState(itemIds, role);
    const gap = found.findIndex((version, index) => version !== index + 1);
    if (found.length === 0 || gap !== -1) {
      throw new TufError(
        'TUF_REPOSITORY_INVALID',
        `the TUF ${role} versions in the state are not 1..N (found ${found.join(', ') || 'none'}); the state was edited or damaged`,
      );
    }
    return found;
  };
  const parse = <T extends Root | Targets | Snapshot | Timestamp>(kind: MetadataKind, id: string, path: string): Metadata<T> => {
    try {
      return Metadata.fromJSON(kind as MetadataKind.Root, JSON.parse(snapshot.file(id, 'metadata').toString('utf8'))) as unknown as Metadata<T>;
    } catch (error) {
      throw new TufError('TUF_REPOSITORY_INVALID', `${path} is not valid TUF ${kind} metadata: ${(error as Error).message}`);
    }
  };
  const versioned = <T extends Root | Targets | Snapshot>(kind: MetadataKind, role: 'root' | 'targets' | 'snapshot', version: number) => {
    const item = versionedMetadataItem(role, version);
    return parse<T>(kind, item.id, item.files.metadata);
  };
  const roots = versions('root').map((version) => versioned<Root>(MetadataKind.Root, 'root', version));
  const targetsVersions = versions('targets');
  const snapshotVersions = versions('snapshot');
  if (!snapshot.item(TIMESTAMP_ITEM.id)) {
    throw new TufError('TUF_REPOSITORY_INVALID', `the state has TUF metadata but no ${TIMESTAMP_ITEM.files.metadata}`);
  }
  const files = new Map<string, Buffer>();
  const prefix = `${TUF_REPOSITORY_DIRECTORY}/`;
  for (const id of itemIds) {
    for (const [role, path] of Object.entries(snapshot.item(id)!.files)) {
      if (path.startsWith(prefix)) files.set(path.slice(prefix.length), snapshot.file(id, role));
    }
  }
  return {
    roots,
    root: roots[roots.length - 1],
    targets: versioned<Targets>(MetadataKind.Targets, 'targets', targetsVersions[targetsVersions.length - 1]),
    snapshot: versioned<Snapshot>(MetadataKind.Snapshot, 'snapshot', snapshotVersions[snapshotVersions.length - 1]),
    timestamp: parse<Timestamp>(MetadataKind.Timestamp, TIMESTAMP_ITEM.id, TIMESTAMP_ITEM.files.metadata),
    files,
  };
}
