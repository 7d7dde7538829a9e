import { TufError } from '../../errors';
import { encryptPrivateKey, generateEcKeyPair, newKeyPassword } from '../../pki/keys';
import { LocalSigner } from '../../pki/local-signer';
import type { Signer } from '../../pki/signer';
import { decryptStateKey, readEncryptedKey } from '../../pki/state-items';
import type { StateSnapshot } from '../../state/store';
import { ONLINE_ROLES, roleKeyItem, type OnlineRoleName } from './tuf-state';

/** Signers of the targets, snapshot and timestamp roles. */
export type RoleSigners = Readonly<Record<OnlineRoleName, Signer>>;

/**
 * Generates whichever online role key the state lacks (EC P-256, stored encrypted with its own
 * password like every other key), then returns the three signers.
 */
export function ensureRoleKeys(snapshot: StateSnapshot, now: Date): RoleSigners {
  for (const role of ONLINE_ROLES) {
    const item = roleKeyItem(role);
    if (snapshot.item(item.id)) continue;
    const password = newKeyPassword();
    const { privateKey } = generateEcKeyPair('P-256');
    snapshot.addItem(item.id, {
      mintedAt: now,
      files: {
        privateKey: { path: item.files.privateKey, content: encryptPrivateKey(privateKey, password) },
        password: { path: item.files.password, content: password },
      },
    });
  }
  return roleSigners(snapshot);
}

/** The signers of the online roles, from keys already in the state. */
export function roleSigners(snapshot: StateSnapshot): RoleSigners {
  const signer = (role: OnlineRoleName): Signer => {
    const item = roleKeyItem(role);
    if (!snapshot.item(item.id)) {
      throw new TufError('TUF_REPOSITORY_INVALID', `state for "${snapshot.env}" has TUF metadata but no ${role} key (${item.files.privateKey})`);
    }
    return new LocalSigner(decryptStateKey(readEncryptedKey(snapshot, item), item.files.privateKey), item.files.privateKey);
  };
  return { targets: signer('targets'), snapshot: signer('snapshot'), timestamp: signer('timestamp') };
}
