import { createPrivateKey, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { SigstoreConfig, TufRootKeySource } from '../config/schema';
import { ConfigError, StateError } from '../errors';
import type { StateSnapshot } from '../state/store';
import { encryptPrivateKey, generateEcKeyPair, newKeyPassword } from './keys';
import { LocalSigner } from './local-signer';
import type { Signer } from './signer';
import { decryptStateKey, readEncryptedKey, STATE_ITEMS } from './state-items';

/** The local signer's own TUF root key (`signer/tuf-root.key.pem`). */
export const DEFAULT_LOCAL_TUF_ROOT_KEY = 'tuf-root';

/**
 * The TUF root keys the configuration names: `tuf.root.keys`, or by default the signer's TUF root key
 * (`local: tuf-root` with the local signer, the `otc.kms.tufRootKeyAlias` key with otc-kms).
 */
export function configuredTufRootKeys(config: SigstoreConfig): TufRootKeySource[] {
  if (config.tuf.root.keys) return config.tuf.root.keys.map((key) => ({ ...key }));
  if (config.signer === 'otc-kms' && config.otc?.kms.tufRootKeyAlias) return [{ kmsAlias: config.otc.kms.tufRootKeyAlias }];
  return [{ local: DEFAULT_LOCAL_TUF_ROOT_KEY }];
}

/** For messages: `KMS alias "sigstore-tuf-root-g2"`, `KMS key 0d04…`, `local key signer/tuf-root-b.key.pem`. */
export function describeTufRootKey(source: TufRootKeySource): string {
  if (source.kmsAlias !== undefined) return `KMS alias "${source.kmsAlias}"`;
  if (source.kmsKeyId !== undefined) return `KMS key ${source.kmsKeyId}`;
  if (source.file !== undefined) return `offline key ${source.file}`;
  return `local key ${localTufRootKeyItem(source.local!).files.privateKey}`;
}

/** The state item of a local TUF root key: `signer/<name>.key.pem` and its password (`tuf-root` is the local signer's own). */
export function localTufRootKeyItem(name: string) {
  if (name === DEFAULT_LOCAL_TUF_ROOT_KEY) return STATE_ITEMS.localTufRootKey;
  return { id: `local-signer-${name}`, files: { privateKey: `signer/${name}.key.pem`, password: `signer/${name}.key.password` } } as const;
}

const LOCAL_KEY_REF = /^local:signer\/([a-z0-9]([a-z0-9-]{0,46}[a-z0-9])?)\.key\.pem$/;

/** The local key name of a `local:signer/<name>.key.pem` key reference, or undefined for another kind of key. */
export function localTufRootKeyName(keyRef: string): string | undefined {
  return LOCAL_KEY_REF.exec(keyRef)?.[1];
}

/**
 * The signer of a local TUF root key in the state. `generate`: create it (EC P-256, encrypted with its
 * own password, like every key of the state) when the state has none; otherwise a missing key is
 * STATE_INCOMPLETE.
 */
export function localTufRootSigner(snapshot: StateSnapshot, name: string, options: { generate: boolean; now: Date }): Signer {
  const item = localTufRootKeyItem(name);
  if (!snapshot.item(item.id)) {
    if (!options.generate) {
      throw new StateError('STATE_INCOMPLETE', `state for "${snapshot.env}" has no local TUF root key ${item.files.privateKey}, which a TUF root version names; restore the state from a backup`);
    }
    const password = newKeyPassword();
    const { privateKey } = generateEcKeyPair('P-256') // TUF_ROOT_CURVE (root-keys.ts): TUF clients verify ECDSA with SHA-256 only;
    snapshot.addItem(item.id, {
      mintedAt: options.now,
      files: {
        privateKey: { path: item.files.privateKey, content: encryptPrivateKey(privateKey, password) },
        password: { path: item.files.password, content: password },
      },
    });
  }
  return new LocalSigner(decryptStateKey(readEncryptedKey(snapshot, item), item.files.privateKey), item.files.privateKey);
}

/** `file:<path>`: how an offline TUF root key appears in the manifest and the ceremony log. */
export function fileKeyRef(path: string): string {
  return `file:${path}`;
}

/**
 * The signer of an offline TUF root key: an EC PEM private key at `path` (outside the state), with its
 * password in `<path>.password` when it is encrypted. Read when asked for, kept in memory only.
 */
export function fileTufRootSigner(path: string): Signer {
  let pem: Buffer;
  try {
    pem = readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'an error';
    throw new ConfigError('CONFIG_INVALID', `the offline TUF root key ${path} cannot be read (${code}): mount the medium that holds it, then run the command again; nothing was signed`);
  }
  const passwordPath = `${path}.password`;
  const password = existsSync(passwordPath) ? readFileSync(passwordPath, 'utf8').replace(/\r?\n$/, '') : undefined;
  let key: KeyObject;
  try {
    key = createPrivateKey(password === undefined ? { key: pem, format: 'pem' } : { key: pem, format: 'pem', passphrase: password });
  } catch (error) {
    throw new ConfigError(
      'CONFIG_INVALID',
      `the offline TUF root key ${path} is not a PEM private key that opens${password === undefined ? ` (no ${passwordPath} beside it)` : ` with ${passwordPath}`}: ${(error as Error).message}`,
    );
  }
  if (key.asymmetricKeyType !== 'ec') throw new ConfigError('CONFIG_INVALID', `the offline TUF root key ${path} is a ${key.asymmetricKeyType} key; expected an EC P-256 key`);
  return new LocalSigner(key, path, fileKeyRef(path));
}

/** The signer of a key reference that is a local key of the state or an offline key file, or a ConfigError naming what the key needs. */
export function localSignerForKeyRef(snapshot: StateSnapshot, keyRef: string): Signer {
  if (keyRef.startsWith('file:')) return fileTufRootSigner(keyRef.slice('file:'.length));
  const name = localTufRootKeyName(keyRef);
  if (name === undefined) {
    throw new ConfigError(
      'CONFIG_OTC_MISSING',
      `the TUF root key ${keyRef} is not a key of the state directory: signing with it needs signer "otc-kms" and the otc section of the environment that holds it`,
    );
  }
  return localTufRootSigner(snapshot, name, { generate: false, now: new Date(0) });
}
