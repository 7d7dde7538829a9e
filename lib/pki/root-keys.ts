import type { KeyObject } from 'node:crypto';
import type { TufRootKeySource } from '../config/schema';
import { ConfigError, StateError } from '../errors';
import type { StateSnapshot } from '../state/store';
import { encryptPrivateKey, generateEcKeyPair, newKeyPassword, type Curve } from './keys';
import { LocalSigner } from './local-signer';
import type { Signer } from './signer';
import { STATE_ITEMS, decryptStateKey, readEncryptedKey } from './state-items';
import { DEFAULT_LOCAL_TUF_ROOT_KEY, describeTufRootKey, fileTufRootSigner, localSignerForKeyRef, localTufRootKeyItem, localTufRootSigner } from './tuf-root-keys';

/** The roots; each has its own key. `tuf` signs the TUF repository's root metadata. */
export type RootName = 'fulcio' | 'tsa' | 'tuf';

/**
 * Curve of the TUF root key, whatever the other roots use: tuf-js and go-tuf (cosign) verify every
 * ECDSA TUF signature with SHA-256, and a Signer hashes P-384 with SHA-384, so only P-256 verifies.
 */
export const TUF_ROOT_CURVE: Curve = 'P-256';

const LOCAL_ROOT_KEY_ITEMS = {
  fulcio: STATE_ITEMS.localFulcioRootKey,
  tsa: STATE_ITEMS.localTsaRootKey,
  tuf: STATE_ITEMS.localTufRootKey,
} as const;

/** A root's public key as its signer holds it, and how that was found out (for messages and the ceremony log). */
export interface RootPublicKey {
  readonly keyRef: string;
  readonly publicKey: KeyObject;
  /** `KMS get-publickey of key <id> (alias "…")`, `local key file signer/fulcio-root.key.pem`. */
  readonly evidence: string;
}

/**
 * Supplies the signer that holds a root's key. The bootstrap asks only when it must sign with a root
 * (a root or an intermediate is missing), so a complete state never signs with the key.
 */
export interface RootKeyProvider {
  /** For messages: `local signer`, `OTC KMS (eu-de)`. */
  readonly description: string;
  signerFor(root: RootName, snapshot: StateSnapshot, now: Date): Promise<Signer>;
  /**
   * The public key of an existing root key, without signing and without creating anything: what
   * pinned keys are compared with. @default - the public key of `signerFor`'s signer
   */
  publicKeyFor?(root: RootName, snapshot: StateSnapshot): Promise<RootPublicKey>;
  /**
   * The signer of generation `generation` (2 or more) of a root's key, for `rotate fulcio-root|tsa-root`
   * and for what that generation signs later. @default - none: this provider cannot rotate roots
   */
  signerForGeneration?(root: RootName, generation: number, snapshot: StateSnapshot, now: Date): Promise<Signer>;
  /** The public key of generation `generation` of a root's key, signing and creating nothing (KMS get-publickey). @default - not compared */
  publicKeyForGeneration?(root: RootName, generation: number, snapshot: StateSnapshot): Promise<RootPublicKey>;
  /**
   * The signer of a TUF root key the configuration names (`tuf.root.keys`); a local key is generated on
   * first use, a KMS key must exist (`keys ensure`). @default - only the signer's own TUF root key
   */
  signerForTufRootKey?(source: TufRootKeySource, snapshot: StateSnapshot, now: Date): Promise<Signer>;
  /**
   * The signer of a key by the reference the state recorded for it (`local:signer/<name>.key.pem`,
   * `otc-kms:<key id>`): the keys of earlier TUF root generations, which the configuration may no
   * longer name. Never creates a key. @default - only the signer's own TUF root key
   */
  signerForKeyRef?(keyRef: string, snapshot: StateSnapshot): Promise<Signer>;
  /**
   * True when the TUF root must be anchored in KMS: generation 1 of the TUF root keys may not be
   * signable by keys outside KMS alone (the otc-kms signer, unless `tuf.root.keys` names local or
   * offline keys). @default false
   */
  readonly tufRootKeysInKms?: boolean;
}

/** The state item of generation `generation` of the local signer's key of `root` (generation 1: `signer/<root>-root.key.pem`). */
export function localRootKeyItem(root: RootName, generation: number): { id: string; files: { privateKey: string; password: string } } {
  const first = LOCAL_ROOT_KEY_ITEMS[root];
  if (generation === 1) return { id: first.id, files: { ...first.files } };
  return {
    id: `${first.id}-g${generation}`,
    files: { privateKey: `signer/g${generation}/${root}-root.key.pem`, password: `signer/g${generation}/${root}-root.key.password` },
  };
}

/** `signerForTufRootKey` of `provider`, or its own TUF root key when the source is that key. */
export async function tufRootKeySigner(provider: RootKeyProvider, source: TufRootKeySource, snapshot: StateSnapshot, now: Date): Promise<Signer> {
  if (provider.signerForTufRootKey) return provider.signerForTufRootKey(source, snapshot, now);
  const own = await provider.signerFor('tuf', snapshot, now);
  if (source.local === DEFAULT_LOCAL_TUF_ROOT_KEY && own.keyRef === `local:${localTufRootKeyItem(DEFAULT_LOCAL_TUF_ROOT_KEY).files.privateKey}`) return own;
  throw new ConfigError('CONFIG_INVALID', `${provider.description} cannot sign with the TUF root key ${describeTufRootKey(source)}`);
}

/** `signerForKeyRef` of `provider`, or its own TUF root key when the reference is that key. */
export async function keyRefSigner(provider: RootKeyProvider, keyRef: string, snapshot: StateSnapshot): Promise<Signer> {
  if (provider.signerForKeyRef) return provider.signerForKeyRef(keyRef, snapshot);
  const own = await provider.signerFor('tuf', snapshot, new Date(0));
  if (own.keyRef === keyRef) return own;
  throw new ConfigError('CONFIG_INVALID', `${provider.description} cannot sign with the TUF root key ${keyRef}`);
}

/** The public key `provider` holds for `root` (publicKeyFor, or the signer's public key). */
export async function rootPublicKey(provider: RootKeyProvider, root: RootName, snapshot: StateSnapshot): Promise<RootPublicKey> {
  if (provider.publicKeyFor) return provider.publicKeyFor(root, snapshot);
  const signer = await provider.signerFor(root, snapshot, new Date(0));
  return { keyRef: signer.keyRef, publicKey: await signer.publicKey(), evidence: provider.description };
}

export interface LocalRootKeysProps {
  /** Curve of newly generated Fulcio and TSA root keys (the TUF root key is always P-256). @default P-384 */
  readonly curve?: Curve;
}

/**
 * The embedded default: each root key is an EC key in the state directory (`signer/<root>-root.key.pem`),
 * encrypted with its own password, generated on first use.
 */
export class LocalRootKeys implements RootKeyProvider {
  readonly description = 'local signer';
  private readonly curve: Curve;

  constructor(props: LocalRootKeysProps = {}) {
    this.curve = props.curve ?? 'P-384';
  }

  async signerFor(root: RootName, snapshot: StateSnapshot, now: Date): Promise<Signer> {
    return this.signerForGeneration(root, 1, snapshot, now);
  }

  /** Generation N's key is `signer/g<N>/<root>-root.key.pem`, generated on first use like generation 1's. */
  async signerForGeneration(root: RootName, generation: number, snapshot: StateSnapshot, now: Date): Promise<Signer> {
    const item = localRootKeyItem(root, generation);
    if (!snapshot.item(item.id)) {
      const password = newKeyPassword();
      const { privateKey } = generateEcKeyPair(root === 'tuf' ? TUF_ROOT_CURVE : this.curve);
      snapshot.addItem(item.id, {
        mintedAt: now,
        files: {
          privateKey: { path: item.files.privateKey, content: encryptPrivateKey(privateKey, password) },
          password: { path: item.files.password, content: password },
        },
      });
    }
    const key = decryptStateKey(readEncryptedKey(snapshot, item), item.files.privateKey);
    return new LocalSigner(key, item.files.privateKey);
  }

  async publicKeyFor(root: RootName, snapshot: StateSnapshot): Promise<RootPublicKey> {
    const item = LOCAL_ROOT_KEY_ITEMS[root];
    if (!snapshot.item(item.id)) {
      throw new StateError('STATE_INCOMPLETE', `state for "${snapshot.env}" has no local ${root} root key (${item.files.privateKey}), which its ${root} root is pinned to; restore the state from a backup`);
    }
    const signer = new LocalSigner(decryptStateKey(readEncryptedKey(snapshot, item), item.files.privateKey), item.files.privateKey);
    return { keyRef: signer.keyRef, publicKey: await signer.publicKey(), evidence: `local key file ${item.files.privateKey}` };
  }

  async signerForTufRootKey(source: TufRootKeySource, snapshot: StateSnapshot, now: Date): Promise<Signer> {
    if (source.file !== undefined) return fileTufRootSigner(source.file);
    if (source.local === undefined) {
      throw new ConfigError('CONFIG_INVALID', `the TUF root key ${describeTufRootKey(source)} is in KMS, but the environment's signer is local: set signer "otc-kms" and the otc section`);
    }
    return localTufRootSigner(snapshot, source.local, { generate: true, now });
  }

  async signerForKeyRef(keyRef: string, snapshot: StateSnapshot): Promise<Signer> {
    return localSignerForKeyRef(snapshot, keyRef);
  }
}
