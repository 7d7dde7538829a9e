import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { logChoice, type CtLogKind, type RekorApiVersion } from '../config/logs-schema';
import { StateError } from '../errors';
import type { StateSnapshot } from '../state/store';
import { decryptPrivateKey, encryptPrivateKey, generateEcKeyPair, newKeyPassword, publicKeyFromPem, publicKeyOf, publicKeyPem, publicKeysEqual } from './keys';
import type { EncryptedKey, LogKey } from './state-items';

/*
 * The signing keys of the tile-based logs, minted only for an environment that runs them:
 *
 * - Rekor v2 (rekor-tiles): **Ed25519**, as sigstore/scaffolding mints it
 *   (config/rekor-tiles: `openssl genpkey -algorithm ed25519`) and the public-good Rekor v2 runs.
 *   rekor-tiles v2.2.1 loads it with sigstore/sigstore v1.10.4 `cryptoutils.UnmarshalPEMToPrivateKey`
 *   (internal/signerverifier/file.go), which reads `PRIVATE KEY` (PKCS#8), `EC PRIVATE KEY` and the
 *   sigstore scrypt format, and decrypts only the latter; the password is the flag
 *   `--signer-password` alone (cmd/rekor-server/posix/app/serve.go binds flags to viper without
 *   AutomaticEnv or a config file), so it would sit on the command line. The server therefore gets
 *   the key **unencrypted** (PKCS#8), in a Secret; the state keeps it encrypted.
 * - TesseraCT v0.1.1: **ECDSA P-256** (internal/ct/ctlog.go `NewLog` accepts only ECDSA; RFC 6962
 *   logs sign SCTs with P-256), read by cmd/tesseract/posix/main.go `signerFromFlags`: `pem.Decode`
 *   then `x509.ParseECPrivateKey`, i.e. an **unencrypted SEC1** `EC PRIVATE KEY`, no password at all.
 *
 * In the state both are encrypted PEM with their own password, like every other key (Ed25519 as
 * encrypted PKCS#8, the P-256 key as legacy-encrypted SEC1).
 */

/** State items of the tile-based logs' keys. */
export const TILE_LOG_KEY_ITEMS = {
  rekorV2: { id: 'rekor-v2-key', files: { publicKey: 'rekor-v2/public.pem', privateKey: 'rekor-v2/private.key.pem', password: 'rekor-v2/private.key.password' } },
  tesseract: { id: 'tesseract-key', files: { publicKey: 'tesseract/public.pem', privateKey: 'tesseract/private.key.pem', password: 'tesseract/private.key.password' } },
} as const;

export type TileLogKeyItem = (typeof TILE_LOG_KEY_ITEMS)[keyof typeof TILE_LOG_KEY_ITEMS];

/** The keys of the tile-based logs a state holds. */
export interface TileLogKeys {
  /** Rekor v2's Ed25519 key. */
  readonly rekorV2?: LogKey;
  /** TesseraCT's P-256 key. */
  readonly tesseract?: LogKey;
}

type LogSelection = { logs?: { rekor?: RekorApiVersion; ct?: CtLogKind } };

/** The tile-log key items the configuration needs. */
export function tileLogKeyItemsFor(config: LogSelection): TileLogKeyItem[] {
  const logs = logChoice(config);
  return [...(logs.rekor === 'v2' ? [TILE_LOG_KEY_ITEMS.rekorV2] : []), ...(logs.ct === 'tesseract' ? [TILE_LOG_KEY_ITEMS.tesseract] : [])];
}

/** Ids of the tile-log keys the configuration needs and the state lacks. */
export function missingTileLogKeys(snapshot: StateSnapshot, config: LogSelection): string[] {
  return tileLogKeyItemsFor(config)
    .filter((item) => !snapshot.item(item.id))
    .map((item) => item.id);
}

/**
 * The hashes of the per-key log targets (`rekor.pub`, `ctfe.pub`) the state's TUF repository
 * published, if it has one: what tells a switched environment from a lost key.
 */
export type PublishedLogKeys = { readonly rekor?: string; readonly ctfe?: string };

/**
 * Refuses to mint a tile-log key into a published state. When the published `rekor.pub` (`ctfe.pub`)
 * is the Trillian-backed log's key, the environment was switched to a tile-based log after its trust
 * was published: a migration (a new log beside the old one, the old one kept with `validFor.end`),
 * which only `rotate rekor-log | ct-log` plans (lib/commands/migrate-log.ts); synth and bootstrap
 * refuse it (STATE_LOG_SWITCH_UNSUPPORTED). Otherwise the key was lost:
 * corruption, never minted again (STATE_PUBLISHED_ITEMS_MISSING). Either way nothing is minted.
 */
export function refuseTileLogKeysForPublishedState(
  snapshot: StateSnapshot,
  config: LogSelection,
  published: { readonly published: boolean; readonly logKeys: PublishedLogKeys; readonly trillianKeys: PublishedLogKeys },
  directory: string,
): void {
  const missing = missingTileLogKeys(snapshot, config);
  if (!published.published || missing.length === 0) return;
  const logs = logChoice(config);
  const switched = missing.filter((id) =>
    id === TILE_LOG_KEY_ITEMS.rekorV2.id
      ? published.logKeys.rekor !== undefined && published.logKeys.rekor === published.trillianKeys.rekor
      : published.logKeys.ctfe !== undefined && published.logKeys.ctfe === published.trillianKeys.ctfe,
  );
  if (switched.length > 0) {
    const fields = switched.map((id) => (id === TILE_LOG_KEY_ITEMS.rekorV2.id ? `logs.rekor "${logs.rekor}"` : `logs.ct "${logs.ct}"`));
    throw new StateError(
      'STATE_LOG_SWITCH_UNSUPPORTED',
      `state ${directory} published ${switched.map((id) => (id === TILE_LOG_KEY_ITEMS.rekorV2.id ? 'Rekor v1' : 'ct_server')).join(' and ')}, but ${fields.join(' and ')} selects a tile-based log. ` +
        'Moving a published environment to a tile-based log is a planned migration (the new log beside the old one, which stays trusted until its validFor ends), ' +
        `which synth and bootstrap do not do: nothing was changed. Run ${switched.map((id) => `"sigstore-cdk rotate ${id === TILE_LOG_KEY_ITEMS.rekorV2.id ? 'rekor-log' : 'ct-log'} --env ${snapshot.env} --at TIME"`).join(' and ')} ` +
        '(README "Migrating a published environment"), or set logs back to what was published.',
    );
  }
  throw new StateError(
    'STATE_PUBLISHED_ITEMS_MISSING',
    `state ${directory} is published but lacks ${missing.join(', ')}, which logs.rekor "${logs.rekor}" / logs.ct "${logs.ct}" needs and whose public key it published. ` +
      'That is corruption, not something to mint again: clients trust the published key. Nothing was changed. Restore the state from a backup.',
  );
}

/** Mints the tile-log keys the configuration needs and the state lacks (the caller has refused published states). */
export function mintTileLogKeys(snapshot: StateSnapshot, config: LogSelection, now: Date): string[] {
  const minted: string[] = [];
  for (const item of tileLogKeyItemsFor(config)) {
    if (snapshot.item(item.id)) continue;
    mintTileLogKey(snapshot, item, now);
    minted.push(item.id);
  }
  return minted;
}

/** Mints one tile-log key into the state (Ed25519 for Rekor v2, P-256 for TesseraCT), encrypted with a new password. */
export function mintTileLogKey(snapshot: StateSnapshot, item: TileLogKeyItem, now: Date): void {
  const password = newKeyPassword();
  const { privateKey, publicKey } = item.id === TILE_LOG_KEY_ITEMS.rekorV2.id ? generateKeyPairSync('ed25519') : generateEcKeyPair('P-256');
  snapshot.addItem(item.id, {
    mintedAt: now,
    files: {
      publicKey: { path: item.files.publicKey, content: publicKeyPem(publicKey) },
      privateKey: { path: item.files.privateKey, content: encryptStateKey(privateKey, password) },
      password: { path: item.files.password, content: password },
    },
  });
}

/** A tile-log key at rest: Ed25519 as encrypted PKCS#8, EC as legacy-encrypted SEC1 (like every other EC key). */
function encryptStateKey(privateKey: KeyObject, password: string): string {
  if (privateKey.asymmetricKeyType === 'ec') return encryptPrivateKey(privateKey, password);
  return privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: password }) as string;
}

/** Reads (and checks) the tile-log keys the state holds; absent ones are undefined. */
export function readTileLogKeys(snapshot: StateSnapshot): TileLogKeys {
  const read = (item: TileLogKeyItem, type: 'ed25519' | 'ec'): LogKey | undefined => {
    if (!snapshot.item(item.id)) return undefined;
    const publicKeyText = snapshot.file(item.id, 'publicKey').toString('utf8');
    let publicKey: KeyObject;
    try {
      publicKey = publicKeyFromPem(publicKeyText);
    } catch (error) {
      throw new StateError('STATE_CORRUPT', `${item.files.publicKey} is not a PEM public key: ${(error as Error).message}`);
    }
    const pem = snapshot.file(item.id, 'privateKey').toString('utf8');
    // The password is read when used (sealed under the KMS data key in an otc-kms state, lib/state/password-envelope.ts).
    const privateKey: EncryptedKey = {
      pem,
      get password(): string {
        return snapshot.file(item.id, 'password').toString('utf8');
      },
    };
    // A sealed state read without opening it (verify): the public key is checked, the private key is not decrypted.
    if (snapshot.passwordsSealed && !snapshot.passwordsOpen) return { publicKey, publicKeyPem: publicKeyText, privateKey, createdAt: new Date(snapshot.item(item.id)!.mintedAt) };
    let decrypted: KeyObject;
    try {
      decrypted = decryptPrivateKey(privateKey.pem, privateKey.password);
    } catch (error) {
      throw new StateError('STATE_CORRUPT', `${item.files.privateKey} does not decrypt with its password file: ${(error as Error).message}`);
    }
    if (decrypted.asymmetricKeyType !== type || !publicKeysEqual(publicKeyOf(decrypted), publicKey)) {
      throw new StateError('STATE_CORRUPT', `${item.files.privateKey} is not the ${type === 'ec' ? 'EC P-256' : 'Ed25519'} key of ${item.files.publicKey}`);
    }
    return { publicKey, publicKeyPem: publicKeyText, privateKey, createdAt: new Date(snapshot.item(item.id)!.mintedAt) };
  };
  return { rekorV2: read(TILE_LOG_KEY_ITEMS.rekorV2, 'ed25519'), tesseract: read(TILE_LOG_KEY_ITEMS.tesseract, 'ec') };
}

/**
 * The unencrypted PEM a tile-based log server loads (see the top of this file): PKCS#8
 * `PRIVATE KEY` for rekor-tiles, SEC1 `EC PRIVATE KEY` for TesseraCT. Secret material: it goes only
 * into the Secrets manifest.
 */
export function serverKeyPem(key: EncryptedKey, encoding: 'pkcs8' | 'sec1'): string {
  const privateKey = decryptPrivateKey(key.pem, key.password);
  if (encoding === 'sec1' && privateKey.asymmetricKeyType !== 'ec') throw new TypeError('a SEC1 key must be an EC key');
  return privateKey.export({ type: encoding, format: 'pem' }) as string;
}
