import { createHash, type KeyObject } from 'node:crypto';
import { canonicalize } from '@tufjs/canonical-json';
import { Key, Signature, type Metadata, type Root, type Snapshot, type Targets, type Timestamp } from '@tufjs/models';
import { SignerError } from '../../errors';
import { curveOf, keyKindOf, publicKeyPem } from '../../pki/keys';
import type { Signer } from '../../pki/signer';

export type AnyMetadata = Metadata<Root> | Metadata<Targets> | Metadata<Snapshot> | Metadata<Timestamp>;

/**
 * TUF key type and scheme of every key we put into root.json, as sigstore/root-signing writes them.
 * Only P-256 verifies everywhere: tuf-js and go-tuf verify ECDSA TUF signatures with SHA-256 whatever
 * the curve or scheme says (tuf-js calls `crypto.verify(undefined, …)`, go-tuf loads every non-ed25519
 * verifier with crypto.SHA256), while a Signer hashes a P-384 key with SHA-384.
 */
export const TUF_KEY_TYPE = 'ecdsa';
export const TUF_KEY_SCHEME = 'ecdsa-sha2-nistp256';

/**
 * The TUF key of a public key: `{"keytype": "ecdsa", "scheme": "ecdsa-sha2-nistp256", "keyval":
 * {"public": PEM}}`, with the key id of the TUF specification (SHA-256 of the canonical JSON of the
 * key). Throws a SignerError for anything but an EC P-256 key, naming `keyRef`.
 */
export function tufKeyFor(publicKey: KeyObject, keyRef: string): Key {
  if (curveOf(publicKey) !== 'P-256') {
    const detail = curveOf(publicKey) ?? keyKindOf(publicKey);
    throw new SignerError(
      'SIGNER_KEY_UNSUPPORTED',
      `TUF key ${keyRef} is a ${detail} key; TUF metadata needs an EC P-256 key (ecdsa-sha2-nistp256), because tuf-js and ` +
        'go-tuf (cosign) verify ECDSA TUF signatures with SHA-256 only. For KMS, create the TUF root key as EC_P256.',
    );
  }
  const unsigned = new Key({ keyID: '', keyType: TUF_KEY_TYPE, scheme: TUF_KEY_SCHEME, keyVal: { public: publicKeyPem(publicKey) } });
  const keyID = createHash('sha256').update(canonicalize(unsigned.toJSON())).digest('hex');
  return new Key({ keyID, keyType: TUF_KEY_TYPE, scheme: TUF_KEY_SCHEME, keyVal: { public: publicKeyPem(publicKey) } });
}

/**
 * Signs metadata through a Signer (a local key or a KMS key: asynchronous, so not through
 * `Metadata.sign`): the canonical JSON of `signed` is signed, the DER signature is attached as hex
 * (what tuf-js and go-tuf expect), then checked with @tufjs/models' own verification before it is kept.
 */
export async function signMetadata(metadata: AnyMetadata, signer: Signer, purpose: string): Promise<void> {
  const key = tufKeyFor(await signer.publicKey(), signer.keyRef);
  const payload = Buffer.from(canonicalize(metadata.signed.toJSON()));
  const der = await signer.sign(payload, purpose);
  metadata.signatures[key.keyID] = new Signature({ keyID: key.keyID, sig: der.toString('hex') });
  try {
    key.verifySignature(metadata);
  } catch (error) {
    delete metadata.signatures[key.keyID];
    throw new SignerError('SIGNATURE_INVALID', `signer ${signer.keyRef} returned a signature over ${purpose} that does not verify: ${(error as Error).message}`);
  }
}

/** The bytes of a metadata file: two-space JSON and a newline (signatures cover canonical JSON, not these bytes). */
export function serializeMetadata(metadata: AnyMetadata): string {
  return `${JSON.stringify(metadata.toJSON(), null, 2)}\n`;
}
