import { createHash } from 'node:crypto';
import type { PublishedLogKeys } from '../pki/tile-log-keys';
import { STATE_ITEMS } from '../pki/state-items';
import type { StateSnapshot } from '../state/store';
import { hasTufRepository, readTufRepository } from '../trust/tuf/repository';
import { isPublished } from './published-state';

/**
 * What a state published of its logs: whether it is published at all, the SHA-256 of the `rekor.pub`
 * and `ctfe.pub` targets of its newest TUF targets, and the SHA-256 of its Trillian-backed logs'
 * (generation 1) public keys as those targets carry them. Tells an environment switched to a
 * tile-based log after publishing from one that lost its tile-log key (tile-log-keys.ts).
 */
export function publishedLogKeys(snapshot: StateSnapshot): { published: boolean; logKeys: PublishedLogKeys; trillianKeys: PublishedLogKeys } {
  const sha256 = (content: Buffer) => createHash('sha256').update(content).digest('hex');
  const trillianKey = (item: typeof STATE_ITEMS.rekorKey | typeof STATE_ITEMS.ctlogKey) =>
    snapshot.item(item.id) ? sha256(snapshot.file(item.id, 'publicKey')) : undefined;
  const targets = hasTufRepository(snapshot) ? readTufRepository(snapshot).targets.signed.targets : {};
  return {
    published: isPublished(snapshot),
    logKeys: { rekor: targets['rekor.pub']?.hashes.sha256, ctfe: targets['ctfe.pub']?.hashes.sha256 },
    trillianKeys: { rekor: trillianKey(STATE_ITEMS.rekorKey), ctfe: trillianKey(STATE_ITEMS.ctlogKey) },
  };
}
