import { StateError } from '../errors';
import { SERVICE_PASSWORDS_ITEM } from '../k8s/service-passwords';
import { missingItems, STATE_ITEMS } from '../pki/state-items';
import { missingTileLogKeys } from '../pki/tile-log-keys';
import type { LogsConfig } from '../config/logs-schema';
import { localTufRootKeyItem, localTufRootKeyName } from '../pki/tuf-root-keys';
import { findPreviousTrees } from '../state/atomic';
import type { StateSnapshot } from '../state/store';
import { hasTufRepository } from '../trust/tuf/repository';

/** The local signer's key item of each root, needed again whenever that root signs (a TUF root refresh). */
const LOCAL_ROOT_KEY_ITEMS = {
  fulcio: STATE_ITEMS.localFulcioRootKey,
  tsa: STATE_ITEMS.localTsaRootKey,
  tuf: STATE_ITEMS.localTufRootKey,
} as const;

/**
 * What a complete state has and this one lacks: the PKI items, the TUF repository and the service
 * passwords (everything `bootstrap` mints), named for an operator. With a configuration, also the
 * keys of the tile-based logs it runs (lib/pki/tile-log-keys.ts).
 */
export function missingFromState(snapshot: StateSnapshot, config?: { logs?: Pick<LogsConfig, 'rekor' | 'ct'> }): string[] {
  return [
    ...missingItems(snapshot),
    ...(config ? missingTileLogKeys(snapshot, config) : []),
    ...(hasTufRepository(snapshot) ? [] : ['the TUF repository']),
    ...(snapshot.item(SERVICE_PASSWORDS_ITEM.id) ? [] : [`${SERVICE_PASSWORDS_ITEM.id} (the MySQL and Redis passwords)`]),
  ];
}

/**
 * Whether any trust material of the environment may have reached clients: the published marker
 * (written by the commit that first made the state complete) or any TUF metadata (what clients
 * fetch). A bootstrap commits everything at once, at the end, so a first run that failed or was
 * killed leaves neither: that state is still unpublished and the next run completes it.
 */
export function isPublished(snapshot: StateSnapshot): boolean {
  return snapshot.publishedAt !== undefined || snapshot.itemIds.some((id) => /^tuf-(root|targets|snapshot)-v[0-9]+$/.test(id) || id === 'tuf-timestamp');
}

/** What a published state lacks: the items of a complete state, and the local key of every root pinned to one. */
export function missingFromPublishedState(snapshot: StateSnapshot): string[] {
  // The TUF root's local keys (any name) are the current generation's, below.
  const localKeys = (['fulcio', 'tsa'] as const)
    .filter((root) => snapshot.rootKeyPin(root)?.keyRef.startsWith('local:') && !snapshot.item(LOCAL_ROOT_KEY_ITEMS[root].id))
    .map((root) => `${LOCAL_ROOT_KEY_ITEMS[root].id} (the local ${root} root key)`);
  // The local keys of the current TUF root key generation sign the next root version.
  const generations = snapshot.tufRootKeyGenerations();
  const tufLocalKeys = (generations[generations.length - 1]?.keys ?? [])
    .map((pin) => localTufRootKeyName(pin.keyRef))
    .filter((name): name is string => name !== undefined)
    .map(localTufRootKeyItem)
    .filter((item) => !snapshot.item(item.id))
    .map((item) => (item.id === LOCAL_ROOT_KEY_ITEMS.tuf.id ? `${item.id} (the local tuf root key)` : `${item.id} (a local TUF root key, ${item.files.privateKey})`));
  return [...missingFromState(snapshot), ...localKeys, ...tufLocalKeys];
}

/**
 * Refuses a published state that lacks anything: that is corruption (a lost file, a bad restore, an
 * edit), never something to mint again, because a new root, log key or TUF root v1 is not what
 * clients trust, and new service passwords are not what MySQL was initialized with. Names what is
 * missing and where a backup would be. A new root is minted only by an explicit rotation.
 */
export async function refuseIncompletePublishedState(snapshot: StateSnapshot, directory: string): Promise<void> {
  if (!isPublished(snapshot)) return;
  const missing = missingFromPublishedState(snapshot);
  if (missing.length === 0) return;
  const since = snapshot.publishedAt ? `published since ${snapshot.publishedAt}` : 'published (it has TUF metadata or pinned root keys)';
  const previousTrees = await findPreviousTrees(directory);
  const backups = [
    `a copy of ${directory} from before the loss`,
    ...previousTrees.map((tree) => `${tree}, a previous state an interrupted run left`),
    'the state bucket, once the state is kept in OBS',
  ];
  throw new StateError(
    'STATE_PUBLISHED_ITEMS_MISSING',
    `state ${directory} is ${since}, but lacks ${missing.join(', ')}. That is corruption, not something to mint again: ` +
      'clients trust the material that was published. Nothing was changed. ' +
      `Restore ${directory} from a backup (${backups.join('; ')}), then run the command again. ` +
      'A new root is minted only by an explicit rotation.',
  );
}
