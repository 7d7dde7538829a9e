import { createHash, randomUUID } from 'node:crypto';
import * as z from 'zod';
import { OtcError } from '../errors';
import { redactServerText, registerSecret } from '../redaction';
import type { OtcHttpClient, OtcResponse, RequestAuthorizer } from './http-client';
import { describeKeyState, KEY_STATE_ENABLED, KEY_STATES } from './kms-key-state';

export { describeKeyState, KEY_STATE_ENABLED, KEY_STATES };

/*
 * The DEW KMS calls the key ceremony needs (OTC KMS API reference, "CMK Management"): create-key,
 * list-keys, describe-key, get-publickey and sign, and for the state's password envelope
 * create-datakey and decrypt-datakey (lib/custody/password-envelope.ts). All are `POST /v1.0/{project_id}/kms/<action>` with
 * a JSON body, even the reads. Each carries a fresh `sequence` (the documented 36-character request
 * serial number), which is recorded with every signature as a correlator.
 */

export type KmsKeySpec =
  | 'AES_256'
  | 'RSA_2048'
  | 'RSA_3072'
  | 'RSA_4096'
  | 'EC_P256'
  | 'EC_P384'
  | 'HMAC_256'
  | 'HMAC_384'
  | 'HMAC_512';
export type KmsKeyUsage = 'ENCRYPT_DECRYPT' | 'SIGN_VERIFY' | 'GENERATE_VERIFY_MAC';
export type KmsSigningAlgorithm = 'ECDSA_SHA_256' | 'ECDSA_SHA_384';

export interface KmsKeyInfo {
  readonly keyId: string;
  readonly alias: string;
  /** As KMS reports it; may be absent from list-keys details, always present in describe-key. */
  readonly keySpec?: string;
  readonly keyUsage?: string;
  /** `1`…`5`, see KEY_STATES. */
  readonly keyState: string;
  readonly origin?: string;
}

export interface KmsSignResult {
  /** The signature bytes as KMS returned them (DER or raw r‖s; the signer normalizes). */
  readonly signature: Buffer;
  /** The `sequence` sent with the request. */
  readonly sequence: string;
  /** X-Request-Id of the answer, if any. */
  readonly requestId?: string;
}

export interface KmsClientProps {
  readonly http: OtcHttpClient;
  /** KMS base URL, e.g. `https://kms.eu-de.otc.t-systems.com`. */
  readonly endpoint: string;
  readonly projectId: string;
  readonly authorizer: RequestAuthorizer;
}

/** KMS key ids: 36 characters, UUID-shaped. */
export const KEY_ID = /^[0-9a-z]{8}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{12}$/;

const keyInfoSchema = z.looseObject({
  key_id: z.string().regex(KEY_ID),
  key_alias: z.string(),
  key_spec: z.string().optional(),
  key_usage: z.string().optional(),
  key_state: z.string(),
  origin: z.string().optional(),
});
const createKeyResponse = z.looseObject({ key_info: z.looseObject({ key_id: z.string().regex(KEY_ID) }) });
const describeKeyResponse = z.looseObject({ key_info: keyInfoSchema });
const listKeysResponse = z.looseObject({
  keys: z.array(z.string()).optional(),
  key_details: z.array(keyInfoSchema),
  next_marker: z.union([z.string(), z.number()]).optional(),
  truncated: z.union([z.string(), z.boolean()]),
});
const publicKeyResponse = z.looseObject({ key_id: z.string(), public_key: z.string().min(1) });
const signResponse = z.looseObject({ key_id: z.string(), signature: z.string().min(1) });
const HEX = /^(?:[0-9a-fA-F]{2})+$/;
const createDataKeyResponse = z.looseObject({ key_id: z.string().regex(KEY_ID), plain_text: z.string().regex(HEX), cipher_text: z.string().regex(HEX) });
const decryptDataKeyResponse = z.looseObject({ data_key: z.string().regex(HEX), datakey_length: z.string(), datakey_dgst: z.string().regex(HEX) });

/**
 * The data key length DEW KMS creates and decrypts: create-datakey takes `datakey_length` "512"
 * (bits), decrypt-datakey `datakey_cipher_length` "64" (bytes), the only values the API reference
 * documents ("Creating a DEK", kms_02_0020; "Decrypting a DEK", kms_02_0023;
 * https://docs.otc.t-systems.com/key-management-service/api-ref/apis/key_management_service/cmk_management/,
 * source opentelekomcloud-docs/key-management-service api-ref/source/apis/key_management_service/
 * cmk_management/creating_a_dek.rst and decrypting_a_dek.rst, snapshot 2026-04-22).
 */
export const DATA_KEY_BYTES = 64;

/** A data key as create-datakey returns it. */
export interface KmsDataKey {
  /** The id of the key (CMK) that encrypted it, as KMS answered (a UUID even when asked by alias). */
  readonly keyId: string;
  /** The plaintext data key (64 bytes). Secret: keep it in memory only. */
  readonly plaintext: Buffer;
  /** The encrypted data key and KMS's metadata, hex, as KMS returned it: what decrypt-datakey takes back. */
  readonly cipherText: string;
}

/** list-keys pages of this size; the page loop stops after MAX_PAGES (10 000 keys, far above the quota). */
const PAGE_SIZE = 100;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const MAX_PAGES = 100;

export class KmsClient {
  readonly endpoint: string;
  readonly projectId: string;

  constructor(private readonly props: KmsClientProps) {
    this.endpoint = props.endpoint;
    this.projectId = props.projectId;
  }

  /** Creates a key; returns its id. Not idempotent: callers look the alias up first. */
  async createKey(request: { alias: string; keySpec: KmsKeySpec; keyUsage: KmsKeyUsage; description?: string }): Promise<string> {
    const response = await this.call('create-key', {
      key_alias: request.alias,
      key_spec: request.keySpec,
      key_usage: request.keyUsage,
      ...(request.description ? { key_description: request.description } : {}),
      origin: 'kms',
    });
    return this.parse('create-key', createKeyResponse, response).key_info.key_id;
  }

  /** Every key of the project (all pages). */
  async listKeys(): Promise<KmsKeyInfo[]> {
    const keys: KmsKeyInfo[] = [];
    let marker: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const response = await this.call('list-keys', { limit: String(PAGE_SIZE), ...(marker ? { marker } : {}) });
      const body = this.parse('list-keys', listKeysResponse, response);
      keys.push(...body.key_details.map(toKeyInfo));
      const truncated = body.truncated === true || body.truncated === 'true';
      const next = body.next_marker === undefined ? '' : String(body.next_marker);
      if (!truncated || next === '' || next === marker) return keys;
      marker = next;
    }
    throw new OtcError('OTC_RESPONSE_INVALID', `KMS list-keys returned more than ${MAX_PAGES} pages; stopping`, { operation: 'kms list-keys' });
  }

  async describeKey(keyId: string): Promise<KmsKeyInfo> {
    const response = await this.call('describe-key', { key_id: keyId });
    return toKeyInfo(this.parse('describe-key', describeKeyResponse, response).key_info);
  }

  /** The key's public key as KMS returns it (PEM; `\r\n` line breaks). */
  async getPublicKey(keyId: string): Promise<string> {
    const response = await this.call('get-publickey', { key_id: keyId });
    const body = this.parse('get-publickey', publicKeyResponse, response);
    this.expectKey('get-publickey', keyId, body.key_id, response);
    return body.public_key;
  }

  /** Signs a digest (`message_type: DIGEST`): the caller hashed the data with the algorithm's hash. */
  async sign(request: { keyId: string; digest: Buffer; algorithm: KmsSigningAlgorithm }): Promise<KmsSignResult> {
    const sequence = randomUUID();
    const response = await this.call('sign', {
      key_id: request.keyId,
      message: request.digest.toString('base64'),
      signing_algorithm: request.algorithm,
      message_type: 'DIGEST',
      sequence,
    });
    const body = this.parse('sign', signResponse, response);
    this.expectKey('sign', request.keyId, body.key_id, response);
    if (!BASE64.test(body.signature)) throw this.invalid('sign', 'the signature is not base64', response);
    return { signature: Buffer.from(body.signature, 'base64'), sequence, requestId: response.requestId };
  }

  /**
   * Creates a data key under `keyId` (a key id or `alias/<alias>`; a symmetric ENCRYPT_DECRYPT key):
   * KMS answers with its plaintext and its cipher text. `encryptionContext`, when given, must be given
   * again to decrypt it.
   */
  async createDataKey(request: { keyId: string; encryptionContext?: Readonly<Record<string, string>> }): Promise<KmsDataKey> {
    const response = await this.call('create-datakey', {
      key_id: request.keyId,
      datakey_length: String(DATA_KEY_BYTES * 8),
      ...(request.encryptionContext ? { encryption_context: request.encryptionContext } : {}),
    });
    const body = this.parse('create-datakey', createDataKeyResponse, response);
    if (!request.keyId.startsWith('alias/')) this.expectKey('create-datakey', request.keyId, body.key_id, response);
    registerDataKey(body.plain_text);
    const plaintext = Buffer.from(body.plain_text, 'hex');
    if (plaintext.length !== DATA_KEY_BYTES) throw this.invalid('create-datakey', `the data key has ${plaintext.length} bytes, not ${DATA_KEY_BYTES}`, response);
    return { keyId: body.key_id, plaintext, cipherText: body.cipher_text };
  }

  /**
   * Decrypts a data key (the `cipherText` create-datakey returned) with `keyId` (a key id or
   * `alias/<alias>`); the answer's SHA-256 digest of the plaintext is checked. Returns the plaintext
   * (64 bytes; secret, in memory only).
   */
  async decryptDataKey(request: { keyId: string; cipherText: string; encryptionContext?: Readonly<Record<string, string>> }): Promise<Buffer> {
    const response = await this.call('decrypt-datakey', {
      key_id: request.keyId,
      cipher_text: request.cipherText,
      datakey_cipher_length: String(DATA_KEY_BYTES),
      ...(request.encryptionContext ? { encryption_context: request.encryptionContext } : {}),
    });
    const body = this.parse('decrypt-datakey', decryptDataKeyResponse, response);
    registerDataKey(body.data_key);
    const plaintext = Buffer.from(body.data_key, 'hex');
    if (plaintext.length !== DATA_KEY_BYTES) throw this.invalid('decrypt-datakey', `the data key has ${plaintext.length} bytes, not ${DATA_KEY_BYTES}`, response);
    if (createHash('sha256').update(plaintext).digest('hex') !== body.datakey_dgst.toLowerCase()) {
      throw this.invalid('decrypt-datakey', 'datakey_dgst is not the SHA-256 of data_key', response);
    }
    return plaintext;
  }

  private call(action: string, body: Record<string, unknown>): Promise<OtcResponse> {
    const url = new URL(`/v1.0/${this.projectId}/kms/${action}`, this.endpoint);
    return this.props.http.send(
      { service: 'kms', operation: action, method: 'POST', url, body: { ...body, sequence: body.sequence ?? randomUUID() }, projectId: this.projectId },
      this.props.authorizer,
    );
  }

  private parse<Schema extends z.ZodType>(action: string, schema: Schema, response: OtcResponse): z.output<Schema> {
    const result = schema.safeParse(response.body);
    if (result.success) return result.data;
    const fields = result.error.issues.map((issue) => issue.path.join('.') || '(body)').join(', ');
    throw this.invalid(action, `fields missing or malformed: ${fields}`, response);
  }

  private expectKey(action: string, wanted: string, got: string, response: OtcResponse): void {
    if (got !== wanted) throw this.invalid(action, `it answered for key ${redactServerText(got).slice(0, 64)}, not ${wanted}`, response);
  }

  private invalid(action: string, detail: string, response: OtcResponse): OtcError {
    return new OtcError(
      'OTC_RESPONSE_INVALID',
      `KMS ${action} answered HTTP ${response.status} but not as the KMS API documents: ${detail}` +
        `${response.requestId ? ` (request id ${response.requestId})` : ''}`,
      { operation: `kms ${action}`, httpStatus: response.status, requestId: response.requestId },
    );
  }
}

/** A plaintext data key (hex) never appears in a message, in whichever case it is written. */
function registerDataKey(hex: string): void {
  for (const form of [hex, hex.toLowerCase(), hex.toUpperCase()]) registerSecret(form);
}

function toKeyInfo(raw: z.output<typeof keyInfoSchema>): KmsKeyInfo {
  return {
    keyId: raw.key_id,
    alias: raw.key_alias,
    keySpec: raw.key_spec,
    keyUsage: raw.key_usage,
    keyState: raw.key_state,
    origin: raw.origin,
  };
}
