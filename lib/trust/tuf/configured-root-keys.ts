import type { SigstoreConfig } from '../../config/schema';
import { kmsKeyRef } from '../../pki/otc-kms-signer';
import { tufRootKeySigner, type RootKeyProvider } from '../../pki/root-keys';
import { configuredTufRootKeys, fileKeyRef, localTufRootKeyItem } from '../../pki/tuf-root-keys';
import type { StateSnapshot } from '../../state/store';

/**
 * A warning when the configuration names other TUF root keys or another threshold than the current
 * root (its generation in the manifest): the operator has prepared a rotation and not run it yet.
 * Local keys and KMS key ids are compared by key reference; a KMS alias is resolved through
 * `rootKeys` (a KMS lookup) unless `offline`, and then not compared. Signs and creates nothing.
 */
export async function tufRootConfigurationWarning(
  snapshot: StateSnapshot,
  config: SigstoreConfig,
  rootKeys: RootKeyProvider | undefined,
): Promise<string | undefined> {
  const generations = snapshot.tufRootKeyGenerations();
  const current = generations[generations.length - 1];
  if (!current) return undefined;
  const configured: string[] = [];
  for (const source of configuredTufRootKeys(config)) {
    if (source.local !== undefined) configured.push(`local:${localTufRootKeyItem(source.local).files.privateKey}`);
    else if (source.kmsKeyId !== undefined) configured.push(kmsKeyRef(source.kmsKeyId));
    else if (source.file !== undefined) configured.push(fileKeyRef(source.file));
    else if (rootKeys) configured.push((await tufRootKeySigner(rootKeys, source, snapshot, new Date(0))).keyRef);
    else return undefined; // an alias cannot be resolved offline
  }
  const pinned = current.keys.map((pin) => pin.keyRef);
  const sameKeys = configured.length === pinned.length && configured.every((keyRef) => pinned.includes(keyRef));
  if (sameKeys && config.tuf.root.threshold === current.threshold) return undefined;
  return (
    `tuf.root names the root keys ${configured.join(', ')} with threshold ${config.tuf.root.threshold}, but the current TUF root (generation ${current.generation}) has ` +
    `${pinned.join(', ')} with threshold ${current.threshold}: run "sigstore-cdk rotate tuf-root --env ${config.env}" to publish them (after "keys ensure" for new KMS aliases)`
  );
}
