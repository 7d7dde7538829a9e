import { createPrivateKey, createPublicKey } from 'node:crypto';
import { checkpointKeyHint, tileLogId } from '../../lib/trust/log-ids';
import { logIdOf } from '../../lib/pki/keys';

/*
 * The test vectors of sigstore/rekor-tiles v2.2.1 pkg/note/note_test.go `TestKeyHash` (origin
 * "testkey"): upstream's test keys and the key ids and log ids its `KeyHash` must produce (each also
 * derived there with openssl and sha256sum).
 */
const ED25519_TEST_KEY = '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIGuZ8UWTFmXi/26ZgF4VYL8HfLSuW12TN5XMFQRt1Loc\n-----END PRIVATE KEY-----\n';
const ECDSA_TEST_KEY =
  '-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIOMZNOBbRU3CHBjZoc13R8HYNUoqsvce5UlOmRzlOZqUoAoGCCqGSM49\n' +
  'AwEHoUQDQgAEeLw7gX40qy1z7JUhGMAaaDITbV7p2D+C5G9xPEsy/PVAo9H0mgS4\nNYzpGirkXxBht+IvvL19WR1X9ANXha5ldQ==\n-----END EC PRIVATE KEY-----\n';
const publicKey = (pem: string) => createPublicKey(createPrivateKey(pem));

describe('tile log ids (rekor-tiles pkg/note KeyHash)', () => {
  it('Ed25519: SHA-256(origin ‖ "\\n" ‖ 0x01 ‖ raw key), the key hint its first 4 bytes', () => {
    const key = publicKey(ED25519_TEST_KEY);
    expect(tileLogId('testkey', key).toString('hex')).toBe('e4de82e34c8c270d87612a3d6a1e297e2cd0ed9cb89ea7aeec8ce4d0b54e6775');
    expect(checkpointKeyHint('testkey', key).readUInt32BE(0)).toBe(3839787747);
    // It depends on the origin, and it is not the RFC 6962 (SPKI) log id.
    expect(tileLogId('rekor.example.com', key).equals(tileLogId('testkey', key))).toBe(false);
    expect(tileLogId('testkey', key).equals(logIdOf(key))).toBe(false);
  });

  it('ECDSA: SHA-256 of the SubjectPublicKeyInfo whatever the origin (= the RFC 6962 log id)', () => {
    const key = publicKey(ECDSA_TEST_KEY);
    expect(tileLogId('testkey', key).toString('hex')).toBe('8f92d720f56c219e34895a76a636a3353ddbf7813f9fa317e19982eafa945328');
    expect(checkpointKeyHint('testkey', key).readUInt32BE(0)).toBe(2408765216);
    expect(tileLogId('other', key).equals(logIdOf(key))).toBe(true);
  });
});
