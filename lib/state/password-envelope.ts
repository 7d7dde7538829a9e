import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import * as z from 'zod';
import { StateError } from '../errors';
import type { StateSnapshot } from './store';

/*
 * The password envelope of an otc-kms environment's state: instead of a plaintext `*.password` file
 * beside each private key, the state holds
 * - `kms/data-key.json` (item `kms-data-key`): a data key DEW KMS created (create-datakey) under the
 *   symmetric state key (otc.kms.stateKeyAlias), as the cipher text KMS returned; only KMS
 *   (decrypt-datakey) turns it back into the key;
 * - every `*.password` file sealed under that data key: AES-256-GCM with a fresh 12-byte nonce, its
 *   tag, and as additional data the format, the environment, the state item and the file's path (so a
 *   sealed password cannot be moved to another item, generation or environment).
 * The AES key is HKDF-SHA256 of the 64-byte data key (info below), so the data key itself never keys
 * a cipher directly. The private keys stay what the servers read (encrypted PEM); their passwords now
 * open only through KMS. The local signer keeps plaintext password files (no KMS to seal them with).
 * Nothing here talks to KMS: lib/custody/state-keyring.ts does, once per run.
 */

/** The state item holding the KMS-encrypted data key. */
export const DATA_KEY_ITEM = { id: 'kms-data-key', files: { dataKey: 'kms/data-key.json' } } as const;
export const DATA_KEY_FORMAT = 'sigstore-cdk/kms-data-key/v1';
export const SEALED_PASSWORD_FORMAT = 'sigstore-cdk/sealed-password/v1';
const HKDF_INFO = 'sigstore-cdk password envelope v1 (AES-256-GCM)';
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** Which state files are passwords: every `*.password` (key passwords, the TUF role keys', the service passwords). */
export function isPasswordPath(path: string): boolean {
  return path.endsWith('.password');
}

const HEX = /^(?:[0-9a-fA-F]{2})+$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** `kms/data-key.json`. */
export const dataKeyRecordSchema = z.strictObject({
  format: z.literal(DATA_KEY_FORMAT),
  /** The KMS key (CMK) id the data key was created under, as create-datakey answered. */
  keyId: z.string().regex(/^[0-9a-z]{8}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{12}$/),
  /** The alias it was created through (otc.kms.stateKeyAlias then), for messages. */
  keyAlias: z.string(),
  /** create-datakey's cipher_text (hex): what decrypt-datakey takes back. */
  cipherText: z.string().regex(HEX),
  /** The encryption_context sent with create-datakey and every decrypt-datakey. */
  encryptionContext: z.record(z.string(), z.string()),
  /** When it was created (ISO 8601). */
  createdAt: z.iso.datetime(),
});
export type DataKeyRecord = z.output<typeof dataKeyRecordSchema>;

const sealedPasswordSchema = z.strictObject({
  format: z.literal(SEALED_PASSWORD_FORMAT),
  nonce: z.string().regex(BASE64),
  tag: z.string().regex(BASE64),
  ciphertext: z.string().regex(BASE64),
});

/** What a sealed password is bound to: its environment, item (with the generation: `tsa-leaf-g2`) and path. */
export interface SealBinding {
  readonly env: string;
  readonly itemId: string;
  readonly path: string;
}

/** The data key record's bytes: stable JSON with a trailing newline. */
export function serializeDataKeyRecord(record: DataKeyRecord): string {
  const sorted = Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
  return `${JSON.stringify(sorted, null, 2)}\n`;
}

/** Parses `kms/data-key.json`, naming the file when it is not one. */
export function parseDataKeyRecord(bytes: Buffer): DataKeyRecord {
  let data: unknown;
  try {
    data = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new StateError('STATE_CORRUPT', `${DATA_KEY_ITEM.files.dataKey} is not JSON (${(error as Error).message})`);
  }
  const result = dataKeyRecordSchema.safeParse(data);
  if (!result.success) {
    const fields = result.error.issues.map((issue) => issue.path.join('.') || '(top level)').join(', ');
    throw new StateError('STATE_CORRUPT', `${DATA_KEY_ITEM.files.dataKey} is not a ${DATA_KEY_FORMAT} record (${fields})`);
  }
  return result.data;
}

/**
 * Checks that a sealed password file has the sealed format (without opening it: no key needed), else
 * a STATE_CORRUPT naming the file. What commands that do not decrypt (verify) check.
 */
export function expectSealedPassword(bytes: Buffer, path: string): void {
  parseSealed(bytes, path);
}

/** True when the bytes look like a sealed password (the format marker), whether or not they open. */
export function looksSealed(bytes: Buffer): boolean {
  return bytes.subarray(0, 64).toString('utf8').includes(SEALED_PASSWORD_FORMAT);
}

function parseSealed(bytes: Buffer, path: string): { nonce: Buffer; tag: Buffer; ciphertext: Buffer } {
  let data: unknown;
  try {
    data = JSON.parse(bytes.toString('utf8'));
  } catch {
    data = undefined;
  }
  const result = sealedPasswordSchema.safeParse(data);
  const sealed = result.success
    ? { nonce: Buffer.from(result.data.nonce, 'base64'), tag: Buffer.from(result.data.tag, 'base64'), ciphertext: Buffer.from(result.data.ciphertext, 'base64') }
    : undefined;
  if (!sealed || sealed.nonce.length !== NONCE_BYTES || sealed.tag.length !== TAG_BYTES || sealed.ciphertext.length === 0) {
    throw new StateError(
      'STATE_CORRUPT',
      `${path} is not a password sealed under the state's KMS data key (${SEALED_PASSWORD_FORMAT}); a state with ${DATA_KEY_ITEM.files.dataKey} keeps no plaintext password`,
    );
  }
  return sealed;
}

function additionalData(binding: SealBinding): Buffer {
  return Buffer.from(JSON.stringify([SEALED_PASSWORD_FORMAT, binding.env, binding.itemId, binding.path]), 'utf8');
}

/**
 * Seals and opens passwords with one data key (its plaintext, in memory only: this object is never
 * serialized, and the key is not a property anyone can print).
 */
export class PasswordEnvelope {
  readonly #key: Buffer;

  /** @param dataKey the plaintext data key KMS returned (64 bytes) */
  constructor(dataKey: Buffer) {
    if (dataKey.length < 32) throw new Error(`a data key of ${dataKey.length} bytes is too short`);
    this.#key = Buffer.from(hkdfSync('sha256', dataKey, Buffer.alloc(0), HKDF_INFO, 32));
  }

  /** The sealed file's bytes (JSON, one line and a newline). */
  seal(plaintext: Buffer, binding: SealBinding): Buffer {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#key, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(additionalData(binding));
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    const record = { format: SEALED_PASSWORD_FORMAT, nonce: nonce.toString('base64'), tag: cipher.getAuthTag().toString('base64'), ciphertext: ciphertext.toString('base64') };
    return Buffer.from(`${JSON.stringify(record)}\n`, 'utf8');
  }

  /** The password, or a STATE_CORRUPT naming the file when it was changed, moved or sealed under another data key. */
  open(sealed: Buffer, binding: SealBinding): Buffer {
    const { nonce, tag, ciphertext } = parseSealed(sealed, binding.path);
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, nonce, { authTagLength: TAG_BYTES });
      decipher.setAAD(additionalData(binding));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
    } catch {
      throw new StateError(
        'STATE_CORRUPT',
        `${binding.path} does not open under the state's data key for item "${binding.itemId}": it was changed, moved from another item, or sealed under another data key`,
      );
    }
  }

  /** Never print the key. */
  toJSON(): string {
    return '[PasswordEnvelope]';
  }
}

/**
 * What commands that do not decrypt check of a sealed state: its data key record parses, and every
 * password file is sealed (none in plaintext). Returns the problems (empty when none).
 */
export function sealedStateProblems(snapshot: StateSnapshot): string[] {
  if (!snapshot.passwordsSealed) {
    // Sealed passwords without the data key they open under: the data key item was lost (never "plaintext" to seal again).
    const orphans = snapshot.passwordFiles().filter(({ path }) => looksSealed(snapshot.storedFile(path) ?? Buffer.alloc(0)));
    return orphans.map(
      ({ path }) => `${path} is sealed under a KMS data key, but the state has no ${DATA_KEY_ITEM.files.dataKey}: restore the state from a backup (its passwords open only with that file)`,
    );
  }
  const problems: string[] = [];
  try {
    snapshot.dataKeyRecord();
  } catch (error) {
    problems.push((error as Error).message);
  }
  for (const { path } of snapshot.passwordFiles()) {
    try {
      expectSealedPassword(snapshot.storedFile(path) ?? Buffer.alloc(0), path);
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  return problems;
}

