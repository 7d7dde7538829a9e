import type { KeyObject } from 'node:crypto';

/**
 * Something that holds a private key and signs with it: a key file (LocalSigner) or a key that never
 * leaves a KMS. Certificate building only ever sees this interface.
 */
export interface Signer {
  /**
   * Names the key, safe to log and to record in the state manifest: `local:<path in state>` or
   * `otc-kms:<key id>`. Never a secret.
   */
  readonly keyRef: string;

  /** The signer's public key (EC P-256 or P-384). */
  publicKey(): Promise<KeyObject>;

  /**
   * Signs `data`, hashing it with the hash that matches the key (SHA-256 for P-256, SHA-384 for
   * P-384), and returns a DER `ECDSA-Sig-Value`. `purpose` says what is being signed, for the ceremony
   * log (e.g. `fulcio-root certificate`).
   */
  sign(data: Uint8Array, purpose: string): Promise<Buffer>;

  /**
   * Like `sign`, and also returns what the signing service said about the signature (e.g. the KMS
   * request id), for the ceremony log. Optional: signers without a remote service omit it.
   */
  signWithReceipt?(data: Uint8Array, purpose: string): Promise<SignatureWithReceipt>;
}

export interface SignatureWithReceipt {
  /** DER `ECDSA-Sig-Value`, as `sign` returns it. */
  readonly signature: Buffer;
  /** Non-secret facts about the signature, recorded in the ceremony log (`kmsKeyId`, `requestId`, …). */
  readonly receipt: Readonly<Record<string, string>>;
}
