import { createHash, type KeyObject } from 'node:crypto';
import { logIdOf, rawEd25519PublicKey } from '../pki/keys';

/*
 * Log ids as the clients look them up. A bundle's tlog entry carries `logId.keyId`; sigstore-js
 * (@sigstore/verify 3.1.1, dist/trust/index.js `createTLogAuthority`) keys each trusted log by
 * `checkpointKeyId.keyId`, else `logId.keyId`, picks the log whose id equals the entry's, and checks a
 * checkpoint signature by its 4-byte key hint against the first 4 bytes of that id
 * (dist/tlog/checkpoint.js `verifySignedNote`). So `logId.keyId` in trusted_root.json must be what
 * the server writes into its entries and what its checkpoint key hint is a prefix of.
 */

/** The C2SP signed-note signature type of Ed25519 (c2sp.org/signed-note: 0x01). */
const SIGNED_NOTE_ED25519 = 0x01;

/**
 * The log id of Rekor v2: the full SHA-256 that sigstore/rekor-tiles v2.2.1 `pkg/note/note.go`
 * `KeyHash(origin, key)` computes and `cmd/rekor-server/posix/app/serve.go` serves as the entries'
 * log id; its first 4 bytes are the checkpoint key hint. For Ed25519 (C2SP signed-note) it is
 * SHA-256(origin ‖ "\n" ‖ 0x01 ‖ raw key), so it depends on the origin; for ECDSA it is SHA-256 of
 * the DER SubjectPublicKeyInfo, the same as the RFC 6962 log id.
 *
 * TesseraCT is not named by this: its SCTs carry the RFC 6962 log id, SHA-256 of the
 * SubjectPublicKeyInfo (tesseract v0.1.1 internal/ct/signatures.go `getCTLogID`), which is what
 * clients match SCTs against (pki/keys.ts `logIdOf`); its checkpoints use the static-ct-api key hash
 * (signature type 0x05, `NewCpSigner`), which no trusted_root.json field carries.
 */
export function rekorV2LogId(origin: string, publicKey: KeyObject): Buffer {
  switch (publicKey.asymmetricKeyType) {
    case 'ed25519':
      return createHash('sha256')
        .update(Buffer.concat([Buffer.from(`${origin}\n`, 'utf8'), Buffer.from([SIGNED_NOTE_ED25519]), rawEd25519PublicKey(publicKey)]))
        .digest();
    case 'ec':
      return logIdOf(publicKey);
    default:
      throw new TypeError(`Rekor v2 keys are Ed25519 or ECDSA here, not ${publicKey.asymmetricKeyType}`);
  }
}

/** The 4-byte key hint a checkpoint signature line starts with (c2sp.org/signed-note key ID). */
export function checkpointKeyHint(origin: string, publicKey: KeyObject): Buffer {
  return rekorV2LogId(origin, publicKey).subarray(0, 4);
}
