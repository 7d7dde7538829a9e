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
      problems.push(`the ${root} root is pinned to ${pin.keyRef}, but ${rootKeys.description} holds it as ${held.keyRef} (${held.evidence})`);
    } else if (heldSpki !== pin.spkiSha256) {
      problems.push(`the ${root} root key ${pin.keyRef} is pinned with SPKI SHA-256 ${pin.spkiSha256}, but ${held.evidence} gives ${heldSpki}`);
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
 * The TUF root keys are compared by the key references the state recorded, generation by
 * generation of the current one (`otc-kms:<id>`: KMS get-publickey of that key; a local key: its
 * file), not through the configured alias: after `keys ensure` made the next generation's alias
 * the configuration may name it before `rotate tuf-root` has signed with it.
 */
async function tufRootKeyProblems(snapshot: StateSnapshot, rootKeys: RootKeyProvider): Promise<string[]> {
  const generations = snapshot.tufRootKeyGenerations();
  const current = generations[generations.length - 1];
  if (!current || !rootKeys.signerForKeyRef) return [];
  const problems: string[] = [];
  for (const pin of current.keys) {
    const held = spkiSha256(await (await rootKeys.signerForKeyRef(pin.keyRef, snapshot)).publicKey());
    if (held !== pin.spkiSha256) {
      problems.push(`the TUF root key ${pin.keyRef} (generation ${current.generation}) is pinned with SPKI SHA-256 ${pin.spkiSha256}, but ${rootKeys.description} gives ${held}`);
    }
  }
  return problems;
}
