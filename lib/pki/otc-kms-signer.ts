import { createHash, createPublicKey, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { SignerError } from '../errors';
import type { KmsClient, KmsSigningAlgorithm } from '../otc/kms-client';
import type { Signer, SignatureWithReceipt } from './signer';
import { ecdsaAlgorithmFor } from './signature-algorithm';
import { normalizeEcdsaSignature } from './ecdsa-signature';

/** The KMS signing algorithm for each of our hashes (EC_P256 pairs with SHA-256, EC_P384 with SHA-384). */
const KMS_ALGORITHM: Record<'SHA-256' | 'SHA-384', KmsSigningAlgorithm> = { 'SHA-256': 'ECDSA_SHA_256', 'SHA-384': 'ECDSA_SHA_384' };

/** `otc-kms:<key id>`: how KMS keys appear in the manifest and the ceremony log. */
export function kmsKeyRef(keyId: string): string {
  return `otc-kms:${keyId}`;
}

/**
 * A root key that never leaves DEW KMS. Fetches the public key once (SPKI PEM; an EC P-256 or P-384
 * key), hashes locally and has KMS sign the digest (`ECDSA_SHA_256`/`ECDSA_SHA_384`, message type
 * DIGEST), accepts the signature as DER or raw r‖s and returns DER, and verifies every signature
 * against the public key before returning it: a signature that does not verify is refused.
 */
export class OtcKmsSigner implements Signer {
  readonly keyRef: string;
  private publicKeyObject?: Promise<KeyObject>;

  constructor(
    private readonly kms: KmsClient,
    readonly keyId: string,
  ) {
    this.keyRef = kmsKeyRef(keyId);
  }

  publicKey(): Promise<KeyObject> {
    this.publicKeyObject ??= this.fetchPublicKey().catch((error) => {
      this.publicKeyObject = undefined; // a failed fetch may be retried later
      throw error;
    });
    return this.publicKeyObject;
  }

  async sign(data: Uint8Array, purpose: string): Promise<Buffer> {
    return (await this.signWithReceipt(data, purpose)).signature;
  }

  async signWithReceipt(data: Uint8Array, _purpose: string): Promise<SignatureWithReceipt> {
    const publicKey = await this.publicKey();
    const algorithm = ecdsaAlgorithmFor(publicKey, this.keyRef);
    const digest = createHash(algorithm.nodeHash).update(data).digest();
    const result = await this.kms.sign({ keyId: this.keyId, digest, algorithm: KMS_ALGORITHM[algorithm.hash] });
    const requestNote = result.requestId ? `request id ${result.requestId}, ` : '';
    const signature = normalizeEcdsaSignature(result.signature, algorithm.curve, this.keyRef);
    if (!nodeVerify(algorithm.nodeHash, data, { key: publicKey, dsaEncoding: 'der' }, signature)) {
      throw new SignerError(
        'SIGNATURE_INVALID',
        `KMS key ${this.keyId} returned a signature that does not verify against its public key (${requestNote}sequence ${result.sequence}); ` +
          'it was not used and nothing was written. Check that otc.endpoints.kms is the real KMS endpoint, then run the command again',
      );
    }
    return {
      signature,
      receipt: {
        kmsKeyId: this.keyId,
        signingAlgorithm: KMS_ALGORITHM[algorithm.hash],
        sequence: result.sequence,
        ...(result.requestId ? { requestId: result.requestId } : {}),
      },
    };
  }

  private async fetchPublicKey(): Promise<KeyObject> {
    const pem = await this.kms.getPublicKey(this.keyId);
    const key = parseKmsPublicKey(pem, this.keyRef);
    ecdsaAlgorithmFor(key, this.keyRef); // EC P-256 or P-384, else SIGNER_KEY_UNSUPPORTED
    return key;
  }
}

/**
 * Parses get-publickey's PEM: SubjectPublicKeyInfo as labelled, or — a quirk of the documented example
 * — a PKCS#1 RSAPublicKey under the same `PUBLIC KEY` label. Line breaks may be `\r\n`.
 */
export function parseKmsPublicKey(pem: string, keyRef: string): KeyObject {
  const match = /-----BEGIN PUBLIC KEY-----([\s\S]*?)-----END PUBLIC KEY-----/.exec(pem);
  if (!match) throw new SignerError('SIGNER_KEY_UNSUPPORTED', `KMS returned a public key for ${keyRef} that is not a PEM "PUBLIC KEY"`);
  const der = Buffer.from(match[1].replace(/\s+/g, ''), 'base64');
  for (const type of ['spki', 'pkcs1'] as const) {
    try {
      return createPublicKey({ key: der, format: 'der', type });
    } catch {
      // try the next encoding
    }
  }
  throw new SignerError('SIGNER_KEY_UNSUPPORTED', `KMS returned a public key for ${keyRef} that is neither SubjectPublicKeyInfo nor PKCS#1`);
}
