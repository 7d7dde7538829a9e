import { createPublicKey } from 'node:crypto';
import { Metadata, MetadataKind, type Root } from '@tufjs/models';
import { spkiSha256 } from '../pki/keys';
import type { StateSnapshot } from '../state/store';
import { versionedMetadataItem, versionsInState } from '../trust/tuf/tuf-state';
import { generationOf } from './root-signed';

/**
 * Why the TUF root versions are not the chain the recorded generations of root keys vouch for, or
 * nothing. For every version v: its root role names exactly the keys and threshold of its generation
 * (the newest recorded one starting at or before v); it is signed by a threshold of its own root keys
 * and, from v2 on, by a threshold of v-1's (TUF specification 5.3.4 and 5.3.5, checked with
 * @tufjs/models as tuf-js checks it). Each generation starts at a version the state holds. So a root
 * signed by a new key alone, a generation whose keys no root version names, or a threshold that was
 * lowered without the old keys' signatures is refused. (Each signature against its pinned key is
 * `rootPinProblems`; the ceremony log record of each is `ceremonyLogProblems`.)
 */
export function tufRootGenerationProblems(snapshot: StateSnapshot): string[] {
  const generations = snapshot.tufRootKeyGenerations();
  const versions = versionsInState(snapshot.itemIds, 'root');
  if (generations.length === 0 || versions.length === 0) return [];
  const problems: string[] = [];
  if (generations[0].firstVersion !== 1) problems.push(`TUF root key generation 1 starts at v${generations[0].firstVersion}, not v1`);
  for (const generation of generations) {
    if (!versions.includes(generation.firstVersion)) {
      problems.push(`TUF root key generation ${generation.generation} starts at v${generation.firstVersion}, which the state does not hold`);
    }
  }
  let previous: Metadata<Root> | undefined;
  for (const version of versions) {
    const item = versionedMetadataItem('root', version);
    const path = item.files.metadata;
    let metadata: Metadata<Root>;
    try {
      metadata = Metadata.fromJSON(MetadataKind.Root, JSON.parse(snapshot.file(item.id, 'metadata').toString('utf8')));
    } catch (error) {
      problems.push(`${path} is not TUF root metadata: ${(error as Error).message}`);
      previous = undefined;
      continue;
    }
    const generation = generationOf(generations, version);
    const role = metadata.signed.roles.root;
    if (generation && role) {
      const named = role.keyIDs.map((keyId) => {
        const pem = metadata.signed.keys[keyId]?.keyVal.public;
        return pem ? spkiSha256(createPublicKey(pem)) : `(key ${keyId} not listed)`;
      });
      const pinned = generation.keys.map((pin) => pin.spkiSha256);
      if (named.length !== pinned.length || !named.every((spki) => pinned.includes(spki))) {
        problems.push(
          `${path} names the root keys ${named.join(', ') || 'none'} (SPKI SHA-256), but TUF root key generation ${generation.generation} pinned ${pinned.join(', ')}`,
        );
      }
      if (role.threshold !== generation.threshold) {
        problems.push(`${path} has root threshold ${role.threshold}, but TUF root key generation ${generation.generation} recorded ${generation.threshold}`);
      }
    }
    const check = (trusting: Metadata<Root>, what: string) => {
      try {
        trusting.verifyDelegate('root', metadata);
      } catch (error) {
        problems.push(`${path} is not signed by the threshold of ${what}: ${(error as Error).message}`);
      }
    };
    check(metadata, 'its own root keys');
    if (previous) check(previous, `the root keys of v${version - 1}`);
    previous = metadata;
  }
  return problems;
}
