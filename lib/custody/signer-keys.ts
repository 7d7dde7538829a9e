import { StateError } from '../errors';
import { spkiSha256 } from '../pki/keys';
import { rootPublicKey, type RootKeyProvider, type RootName } from '../pki/root-keys';
import type { StateSnapshot } from '../state/store';

/**
 * Compares every pinned root key with the key the configured signer holds: the same key reference
 * (the configured KMS alias resolves to the pinned key id) and the same public key (KMS
 * get-publickey, or the local key file). This is what a copy of the state's files cannot fake when
 * the roots are in KMS. Throws STATE_SIGNER_MISMATCH naming each root that differs; signs nothing.
 */
export async function expectSignerHoldsPinnedKeys(snapshot: StateSnapshot, rootKeys: RootKeyProvider, directory: string): Promise<void> {
  const problems: string[] = [];
  for (const root of ['fulcio', 'tsa', 'tuf'] as const satisfies readonly RootName[]) {
    const pin = snapshot.rootKeyPin(root);
    if (!pin) continue;
    if (root === 'tuf' && rootKeys.signerForKeyRef) {
      problems.push(...(await tufRootKeyProblems(snapshot, rootKeys)));
      continue;
    }
    const held = await rootPublicKey(rootKeys, root, snapshot);
    const heldSpki = spkiSha256(held.publicKey);
    if (held.keyRef !== pin.keyRef) {
      problems.push(`the ${root} root is pinned to ${pin.keyRef}, but ${rootKeys.description} holds it as ${held.keyRef} (${held.evidence}); ${rotationHint(root, pin.keyRef, snapshot.env)}`);
    } else if (heldSpki !== pin.spkiSha256) {
      problems.push(`the ${root} root key ${pin.keyRef} is pinned with SPKI SHA-256 ${pin.spkiSha256}, but ${held.evidence} gives ${heldSpki}`);
    }
  }
  // Root generations after the first (rotate fulcio-root|tsa-root), where the provider can look their keys up.
  for (const root of ['fulcio', 'tsa'] as const) {
    for (const record of snapshot.generationRecords(`${root}-root`)) {
      if (!record.rootKey || !rootKeys.publicKeyForGeneration) continue;
      const held = await rootKeys.publicKeyForGeneration(root, record.generation, snapshot);
      if (held.keyRef !== record.rootKey.keyRef || spkiSha256(held.publicKey) !== record.rootKey.spkiSha256) {
        problems.push(
          `generation ${record.generation} of the ${root} root is pinned to ${record.rootKey.keyRef} (SPKI SHA-256 ${record.rootKey.spkiSha256}), ` +
            `but ${held.evidence} gives ${held.keyRef} (${spkiSha256(held.publicKey)})`,
        );
      }
    }
  }
  if (problems.length === 0) return;
  throw new StateError(
    'STATE_SIGNER_MISMATCH',
    `state ${directory} does not match the configured signer (${rootKeys.description}); nothing was signed or changed:\n${problems.map((problem) => `  - ${problem}`).join('\n')}\n` +
      'Either the state was replaced or edited (restore it from a backup), or the configuration names other keys than the ones that minted it (use those).',
  );
}

/**
 * The TUF root keys are compared by the key references the state recorded, not through the
 * configured alias: after `keys ensure` made the next generation's alias the configuration may name
 * it before `rotate tuf-root` has signed with it. Checked: the keys of generation 1 (the root clients
 * are initialized with) and of the current generation, each against its signer (`otc-kms:<id>`: KMS
 * get-publickey of that key; a local key: its file; an offline key only by its signatures). With KMS
 * (`tufRootKeysInKms`), generation 1 may not be signable by keys outside KMS alone, unless the
 * configuration names local or offline TUF root keys: else whoever holds a copy of the state could
 * re-sign the whole chain and re-pin it.
 */
async function tufRootKeyProblems(snapshot: StateSnapshot, rootKeys: RootKeyProvider): Promise<string[]> {
  const generations = snapshot.tufRootKeyGenerations();
  if (generations.length === 0 || !rootKeys.signerForKeyRef) return [];
  const problems: string[] = [];
  const checked = generations.length === 1 ? generations : [generations[0], generations[generations.length - 1]];
  for (const generation of checked) {
    // An offline key (`file:`) is checked by its signatures alone: verify must not need the medium it lives on.
    for (const pin of generation.keys.filter((key) => !key.keyRef.startsWith('file:'))) {
      const held = spkiSha256(await (await rootKeys.signerForKeyRef(pin.keyRef, snapshot)).publicKey());
      if (held !== pin.spkiSha256) {
        problems.push(`the TUF root key ${pin.keyRef} (generation ${generation.generation}) is pinned with SPKI SHA-256 ${pin.spkiSha256}, but ${rootKeys.description} gives ${held}`);
      }
    }
  }
  // The anchor: generation 1 (what clients are initialized with) must need a KMS signature. Every later
  // version is signed by a threshold of its predecessor's keys, so a chain anchored in KMS cannot be
  // re-created from the state's files (or from keys a forger claims are offline).
  const anchor = generations[0];
  const outsideKms = anchor.keys.filter((pin) => !pin.keyRef.startsWith('otc-kms:'));
  if (rootKeys.tufRootKeysInKms && outsideKms.length >= anchor.threshold) {
    problems.push(
      `TUF root key generation 1 can be signed by keys outside KMS alone (${outsideKms.map((pin) => pin.keyRef).join(', ')}; threshold ${anchor.threshold}), ` +
        'but this environment keeps its TUF root in KMS and tuf.root.keys names no local or offline key',
    );
  }
  return problems;
}

/**
 * What to do instead of configuring a new root key (the KMS runbook's yearly key rotation): the state
 * keeps generation 1's key configured, and a new key is the next generation (lib/lifecycle/renewal.ts).
 */
function rotationHint(root: RootName, pinnedKeyRef: string, env: string): string {
  if (root === 'tuf') return `a new TUF root key is a rotation: name it in tuf.root.keys and run "sigstore-cdk rotate tuf-root --env ${env}"`;
  const rotate = `"sigstore-cdk rotate ${root}-root --env ${env}"`;
  if (pinnedKeyRef.startsWith('otc-kms:')) {
    return (
      `a new ${root} root key is a rotation: keep the configured key that minted generation 1 (otc.kms.${root}RootKeyAlias) and run ` +
      `"sigstore-cdk keys ensure --env ${env} --next ${root}-root", then ${rotate}`
    );
  }
  return `a new ${root} root key is a rotation: keep ${pinnedKeyRef.replace(/^local:/, '')} and run ${rotate}`;
}
