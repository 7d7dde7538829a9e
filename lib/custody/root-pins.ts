import { StateError } from '../errors';
import { spkiSha256 } from '../pki/keys';
import type { RootName } from '../pki/root-keys';
import { ecdsaAlgorithmFor } from '../pki/signature-algorithm';
import { verifiesOnce } from '../pki/verified-signatures';
import type { StateSnapshot } from '../state/store';
import type { RootSignedArtifact } from './root-signed';
import { tufRootGenerationProblems } from './tuf-root-generations';

const ROOTS: readonly RootName[] = ['fulcio', 'tsa', 'tuf'];

/**
 * Why the root-signed material does not belong to the pinned root keys, or nothing: every root
 * (Fulcio, TSA root certificate; TUF root metadata) must carry exactly the key pinned when it was
 * minted, every certificate and TUF root version must be signed by that key (the signature verifies
 * under it), and the manifest's `signedBy` must be the pinned key reference.
 */
export function rootPinProblems(snapshot: StateSnapshot, artifacts: readonly RootSignedArtifact[]): string[] {
  const problems: string[] = [];
  for (const root of ROOTS) {
    if (!snapshot.rootKeyPin(root) && artifacts.some((artifact) => artifact.root === root)) {
      problems.push(`the ${root} root is in the state but its key is not pinned (manifest rootKeys.${root} is missing)`);
    }
  }
  for (const artifact of artifacts) {
    if (artifact.pin === null) {
      problems.push(
        `${artifact.path} carries the key with SPKI SHA-256 ${spkiSha256(artifact.signerKey)} as a TUF root key (or a signature of it), which no generation of TUF root keys pinned ` +
          `(manifest rootKeys.tuf, tufRootKeyGenerations): the root was replaced or forged`,
      );
      continue;
    }
    const pin = artifact.pin ?? snapshot.rootKeyPin(artifact.root);
    if (!pin) continue;
    const pinned = `the ${artifact.root} root key pinned at mint time (${pin.keyRef}, SPKI SHA-256 ${pin.spkiSha256})`;
    if (artifact.certifiedKey && spkiSha256(artifact.certifiedKey) !== pin.spkiSha256) {
      problems.push(`${artifact.path} carries the key with SPKI SHA-256 ${spkiSha256(artifact.certifiedKey)}, not ${pinned}: the root was replaced`);
      continue;
    }
    if (spkiSha256(artifact.signerKey) !== pin.spkiSha256) {
      problems.push(`${artifact.path} is issued by the key with SPKI SHA-256 ${spkiSha256(artifact.signerKey)}, not ${pinned}`);
      continue;
    }
    const algorithm = ecdsaAlgorithmFor(artifact.signerKey, pin.keyRef);
    if (artifact.signature.length === 0 || !verifiesOnce(algorithm.nodeHash, artifact.signedBytes, artifact.signerKey, artifact.signature)) {
      problems.push(`${artifact.path} is not signed by ${pinned}: its signature does not verify`);
      continue;
    }
    if (!(artifact.signedBy ?? '').split(',').includes(pin.keyRef)) {
      problems.push(`${artifact.path} is recorded as signed by ${artifact.signedBy ?? 'no key'} in the manifest, but ${pinned} is ${pin.keyRef}`);
    }
  }
  return [...problems, ...tufRootGenerationProblems(snapshot)];
}

/** Throws STATE_ROOT_KEY_MISMATCH naming every problem `rootPinProblems` found. */
export function expectPinnedRoots(snapshot: StateSnapshot, artifacts: readonly RootSignedArtifact[], directory: string): void {
  const problems = rootPinProblems(snapshot, artifacts);
  if (problems.length === 0) return;
  throw new StateError(
    'STATE_ROOT_KEY_MISMATCH',
    `state ${directory} does not match its pinned root keys; nothing was changed or published:\n${problems.map((problem) => `  - ${problem}`).join('\n')}\n` +
      'Restore the state from a backup. A root is replaced only by an explicit rotation, never by copying files.',
  );
}
