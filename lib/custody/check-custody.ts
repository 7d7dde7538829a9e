import { StateError } from '../errors';
import { sealedStateProblems } from '../state/password-envelope';
import type { StateSnapshot } from '../state/store';
import { expectCeremonyLogCovers } from './ceremony-coverage';
import { refuseIncompletePublishedState } from './published-state';
import { expectPinnedRoots } from './root-pins';
import { rootSignedArtifacts } from './root-signed';

/**
 * The custody checks every command runs on a loaded state before it uses or publishes anything, in
 * this order, each a StateError (exit 3):
 * 1. a published state lacks nothing (STATE_PUBLISHED_ITEMS_MISSING);
 * 2. every root certificate and TUF root carries and is signed by its pinned key, and the manifest's
 *    `signedBy` names it (STATE_ROOT_KEY_MISMATCH);
 * 3. the ceremony log is the hash chain the manifest recorded and holds every root-key signature the
 *    state contains (STATE_CEREMONY_LOG_INVALID).
 * 4. a state whose passwords are sealed under a KMS data key holds no plaintext password and a
 *    readable data key record (STATE_CORRUPT), checked without opening anything.
 * Partial, unpublished states are checked for what they hold. These checks need no signer; comparing
 * the pins with the signer itself (KMS) is `expectSignerHoldsPinnedKeys`.
 */
export async function checkCustody(snapshot: StateSnapshot, directory: string): Promise<void> {
  await refuseIncompletePublishedState(snapshot, directory);
  const artifacts = rootSignedArtifacts(snapshot);
  expectPinnedRoots(snapshot, artifacts, directory);
  expectCeremonyLogCovers(snapshot, artifacts, directory);
  const sealing = sealedStateProblems(snapshot);
  if (sealing.length > 0) {
    throw new StateError('STATE_CORRUPT', `state ${directory} is inconsistent; nothing was changed:\n${sealing.map((problem) => `  - ${problem}`).join('\n')}`);
  }
}
