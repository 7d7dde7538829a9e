import type { SigstoreConfig } from '../config/schema';
import { stateKeyAliasOf } from '../config/state-key-alias';
import { OtcError, StateError } from '../errors';
import type { KmsClient } from '../otc/kms-client';
import { describeKeyState, KEY_STATE_ENABLED } from '../otc/kms-key-state';
import { connectKms, otcConfigOf, type KmsConnectionOptions } from '../otc/kms-connection';
import { OtcKmsRootKeys } from '../pki/otc-kms-root-keys';
import type { RootKeyProvider } from '../pki/root-keys';
import { silentProgress, type Progress } from '../progress';
import {
  DATA_KEY_FORMAT,
  PasswordEnvelope,
  serializeDataKeyRecord,
  type DataKeyRecord,
} from '../state/password-envelope';
import type { StateSnapshot } from '../state/store';

/*
 * The KMS side of the state's password envelope (lib/state/password-envelope.ts): creating the data
 * key (create-datakey under otc.kms.stateKeyAlias) and opening it (decrypt-datakey), once per run:
 * the plaintext data key is kept in this object's memory only, never written, never logged (the KMS
 * client registers it with the redaction registry). Only commands that use private keys or render
 * Secrets make a keyring (synth, bootstrap, tuf refresh, rotate, state upgrade); verify, status and
 * the remote and archive commands read the sealed files as they are.
 */

/** The symmetric key's spec and usage: what create-datakey needs. */
export const STATE_KEY_SPEC = 'AES_256';
export const STATE_KEY_USAGE = 'ENCRYPT_DECRYPT';

export { stateKeyAliasOf };

export interface StateKeyringProps {
  readonly kms: KmsClient;
  /** otc.kms.stateKeyAlias (or its default). */
  readonly keyAlias: string;
  readonly env: string;
  /** @default - silent */
  readonly progress?: Progress;
}

/** What the state key looked like to `ensureStateKey`. */
export interface StateKeyStatus {
  readonly alias: string;
  readonly keyId: string;
  readonly created: boolean;
}

/** Opens and creates the state's data key through KMS; one decrypt-datakey per data key and run. */
export class StateKeyring {
  readonly keyAlias: string;
  private readonly opened = new Map<string, Promise<PasswordEnvelope>>();

  constructor(private readonly props: StateKeyringProps) {
    this.keyAlias = props.keyAlias;
  }

  /** The encryption context of the environment's data key: binds it to the environment. */
  get encryptionContext(): Record<string, string> {
    return { 'sigstore-cdk-env': this.props.env };
  }

  /**
   * The state key by alias: created (AES_256, ENCRYPT_DECRYPT) when no key has the alias; refused
   * (KMS_KEY_UNUSABLE) when the key under it is not an enabled symmetric encryption key.
   */
  async ensureStateKey(): Promise<StateKeyStatus> {
    const { kms } = this.props;
    const alias = this.keyAlias;
    const existing = (await kms.listKeys()).find((key) => key.alias === alias);
    if (!existing) {
      const keyId = await (this.props.progress ?? silentProgress).step(`create the state key "${alias}" (${STATE_KEY_SPEC}, ${STATE_KEY_USAGE}) in KMS`, () =>
        kms.createKey({ alias, keySpec: STATE_KEY_SPEC, keyUsage: STATE_KEY_USAGE, description: `sigstore-cdk ${this.props.env}: wraps the state's data key` }),
      );
      return { alias, keyId, created: true };
    }
    const key = existing.keySpec === undefined || existing.keyUsage === undefined ? await kms.describeKey(existing.keyId) : existing;
    if (key.keySpec !== STATE_KEY_SPEC || key.keyUsage !== STATE_KEY_USAGE || key.keyState !== KEY_STATE_ENABLED) {
      throw new OtcError(
        'KMS_KEY_UNUSABLE',
        `the state key "${alias}" (otc.kms.stateKeyAlias, key ${key.keyId}) is ${key.keySpec}/${key.keyUsage}, state ${describeKeyState(key.keyState)}; ` +
          `it must be an enabled ${STATE_KEY_SPEC} ${STATE_KEY_USAGE} key: enable it, or name another alias in otc.kms.stateKeyAlias`,
        { operation: 'kms describe-key' },
      );
    }
    return { alias, keyId: key.keyId, created: false };
  }

  /** A new data key (create-datakey), as the record the state keeps and the envelope to seal with. */
  async create(now: Date): Promise<{ record: DataKeyRecord; content: string; envelope: PasswordEnvelope }> {
    const stateKey = await this.ensureStateKey();
    const created = await (this.props.progress ?? silentProgress).step(`create the state's data key under "${this.keyAlias}" (KMS create-datakey)`, () =>
      this.props.kms.createDataKey({ keyId: stateKey.keyId, encryptionContext: this.encryptionContext }),
    );
    const record: DataKeyRecord = {
      format: DATA_KEY_FORMAT,
      keyId: created.keyId,
      keyAlias: this.keyAlias,
      cipherText: created.cipherText,
      encryptionContext: this.encryptionContext,
      createdAt: now.toISOString(),
    };
    const envelope = new PasswordEnvelope(created.plaintext);
    created.plaintext.fill(0);
    this.opened.set(record.cipherText, Promise.resolve(envelope));
    return { record, content: serializeDataKeyRecord(record), envelope };
  }

  /**
   * The envelope of the state's data key: decrypt-datakey with the configured alias (so a state key
   * that is not the one the state was sealed with is refused by KMS), once per data key and run.
   */
  open(record: DataKeyRecord): Promise<PasswordEnvelope> {
    let envelope = this.opened.get(record.cipherText);
    if (!envelope) {
      envelope = this.decrypt(record);
      this.opened.set(record.cipherText, envelope);
      envelope.catch(() => this.opened.delete(record.cipherText));
    }
    return envelope;
  }

  private async decrypt(record: DataKeyRecord): Promise<PasswordEnvelope> {
    const plaintext = await (this.props.progress ?? silentProgress).step(`open the state's passwords (KMS decrypt-datakey with "${this.keyAlias}")`, () =>
      this.props.kms.decryptDataKey({ keyId: `alias/${this.keyAlias}`, cipherText: record.cipherText, encryptionContext: record.encryptionContext }),
    );
    const envelope = new PasswordEnvelope(plaintext);
    plaintext.fill(0);
    return envelope;
  }
}

/**
 * The keyring of an otc-kms environment (undefined for the local signer, whose state keeps plaintext
 * password files). It reuses the root key provider's KMS connection when there is one, else connects
 * as the configuration says (credentials from the environment: OTC_CREDENTIALS_MISSING before any request).
 */
export function stateKeyringFor(
  config: SigstoreConfig,
  options: { readonly rootKeys?: RootKeyProvider; readonly kms?: KmsConnectionOptions; readonly environment?: NodeJS.ProcessEnv; readonly progress?: Progress } = {},
): StateKeyring | undefined {
  if (config.signer !== 'otc-kms') return undefined;
  const connection =
    options.rootKeys instanceof OtcKmsRootKeys
      ? options.rootKeys.connection
      : connectKms(otcConfigOf(config, 'signer "otc-kms"'), { ...options.kms, environment: options.kms?.environment ?? options.environment });
  return new StateKeyring({ kms: connection.kms, keyAlias: stateKeyAliasOf(config), env: config.env, progress: options.progress });
}

/** The refusal of an otc-kms state whose passwords are still plaintext files: `state upgrade` seals them. */
export function unsealedStateError(snapshot: StateSnapshot, directory: string): StateError {
  const count = snapshot.passwordFiles().length;
  return new StateError(
    'STATE_FORMAT_OUTDATED',
    `state ${directory} keeps ${count} password file${count === 1 ? '' : 's'} in plaintext beside the private keys, which an otc-kms environment ` +
      `seals under a KMS data key; nothing was changed. Run "sigstore-cdk state upgrade --env ${snapshot.env}": it seals them ` +
      '(KMS create-datakey under otc.kms.stateKeyAlias) and changes nothing else',
  );
}

/**
 * Opens the passwords of a state for a command that uses them: with a keyring (otc-kms), a sealed
 * state gets its envelope (one decrypt-datakey per run), a state with plaintext password files is
 * refused (run `state upgrade`), an empty one is left for the bootstrap to seal (sealNewState).
 * Without a keyring (the local signer) nothing happens.
 */
export async function openStatePasswords(snapshot: StateSnapshot, keyring: StateKeyring | undefined, directory: string): Promise<void> {
  if (!keyring) return;
  const record = snapshot.dataKeyRecord();
  if (record) {
    snapshot.attachEnvelope(await keyring.open(record));
    return;
  }
  if (snapshot.passwordFiles().length > 0) throw unsealedStateError(snapshot, directory);
}

/** Before a bootstrap mints into an otc-kms state that has no data key (and so no password yet): creates it. */
export async function sealNewState(snapshot: StateSnapshot, keyring: StateKeyring | undefined, now: Date, directory: string): Promise<void> {
  if (!keyring || snapshot.passwordsSealed) return;
  if (snapshot.passwordFiles().length > 0) throw unsealedStateError(snapshot, directory);
  const { content, envelope } = await keyring.create(now);
  snapshot.sealPasswords({ mintedAt: now, content }, envelope);
}


/** How a command that uses the passwords reaches KMS: the root key provider's connection, or its own. */
export interface OpenPasswordsOptions {
  readonly rootKeys?: RootKeyProvider;
  readonly kms?: KmsConnectionOptions;
  readonly environment?: NodeJS.ProcessEnv;
  readonly progress?: Progress;
}

/**
 * For synth, tuf refresh and rotate: opens the passwords of an otc-kms state (connecting to KMS only
 * when the state has passwords to open), or refuses one whose passwords are still plaintext files.
 * Nothing for the local signer.
 */
export async function openPasswordsFor(config: SigstoreConfig, snapshot: StateSnapshot, directory: string, options: OpenPasswordsOptions = {}): Promise<void> {
  if (config.signer !== 'otc-kms') return;
  if (!snapshot.passwordsSealed) {
    if (snapshot.passwordFiles().length > 0) throw unsealedStateError(snapshot, directory);
    return;
  }
  await openStatePasswords(snapshot, stateKeyringFor(config, options), directory);
}
