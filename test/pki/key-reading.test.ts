import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { curveOf, keyKindOf, rawEd25519PublicKey, subjectKeyIdentifier } from '../../lib/pki/keys';
import { ecdsaAlgorithmFor } from '../../lib/pki/signature-algorithm';
import { tufKeyFor } from '../../lib/trust/tuf/metadata-signing';
import { REPO_ROOT } from '../helpers/cli-process';

/*
 * lib/pki/keys.ts reads a key's curve, EC point and Ed25519 bytes from its DER SubjectPublicKeyInfo:
 * Node 20.20's JWK export and asymmetricKeyDetails hold the key's lock while allocating, and a GC
 * there that finalizes generateKeyPairSync's job deadlocks the process (seen in npm test). Its
 * answers are checked here against Node's own JWK and key details, computed on copies parsed from
 * DER (a parsed key shares no lock with a key-generation job, so the reference cannot hang).
 * test/test-hygiene.test.ts keeps lib/ and the test helpers off both calls.
 */

/** A copy of `key` parsed from its DER: the same key, with a lock of its own. */
function parsedCopy(key: KeyObject): KeyObject {
  return key.type === 'private'
    ? createPrivateKey({ key: key.export({ type: 'pkcs8', format: 'der' }), format: 'der', type: 'pkcs8' })
    : createPublicKey({ key: key.export({ type: 'spki', format: 'der' }), format: 'der', type: 'spki' });
}

describe('reading keys from their DER (lib/pki/keys.ts)', () => {
  it.each([
    ['P-256', 'prime256v1'],
    ['P-384', 'secp384r1'],
  ] as const)('a %s key: curve, key kind and subject key identifier as Node and RFC 5280 method 1 give them', (curve, namedCurve) => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve });
    const reference = parsedCopy(publicKey);
    expect(reference.asymmetricKeyDetails?.namedCurve).toBe(namedCurve);
    expect(curveOf(publicKey)).toBe(curve);
    expect(curveOf(privateKey)).toBe(curve);
    expect(keyKindOf(publicKey)).toBe(`ec ${namedCurve}`);
    // RFC 5280 §4.2.1.2 (1): SHA-1 of the subjectPublicKey, the uncompressed point 04 ‖ x ‖ y.
    const jwk = reference.export({ format: 'jwk' });
    const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
    expect(subjectKeyIdentifier(publicKey)).toEqual(createHash('sha1').update(point).digest());
  });

  it('other keys: no curve of ours, a kind that names them, the raw Ed25519 key as its JWK has it', () => {
    const p521 = generateKeyPairSync('ec', { namedCurve: 'secp521r1' }).publicKey;
    expect(curveOf(p521)).toBeUndefined();
    expect(keyKindOf(p521)).toBe('ec secp521r1');
    const ed25519 = generateKeyPairSync('ed25519').publicKey;
    expect(curveOf(ed25519)).toBeUndefined();
    expect(keyKindOf(ed25519)).toBe('ed25519');
    expect(rawEd25519PublicKey(ed25519)).toEqual(Buffer.from(parsedCopy(ed25519).export({ format: 'jwk' }).x!, 'base64url'));
    expect(() => subjectKeyIdentifier(ed25519)).toThrow('only EC public keys');
    expect(() => rawEd25519PublicKey(p521)).toThrow('expected an Ed25519 public key');
    const rsa = createPublicKey(readFileSync(join(REPO_ROOT, 'test', 'fixtures', 'rsa-keys', 'rsa-2048-1.pem'), 'utf8'));
    expect(curveOf(rsa)).toBeUndefined();
    expect(keyKindOf(rsa)).toBe('rsa');
  });

  it('a refused signer key is named by its kind', () => {
    const p521 = generateKeyPairSync('ec', { namedCurve: 'secp521r1' }).publicKey;
    expect(() => ecdsaAlgorithmFor(p521, 'kms:alias/x')).toThrow(expect.objectContaining({ code: 'SIGNER_KEY_UNSUPPORTED', message: 'signer kms:alias/x has an ec secp521r1 key; expected an EC P-256 or P-384 key' }));
    expect(() => tufKeyFor(generateKeyPairSync('ed25519').publicKey, 'tuf-root')).toThrow(expect.objectContaining({ code: 'SIGNER_KEY_UNSUPPORTED', message: expect.stringMatching(/^TUF key tuf-root is a ed25519 key; TUF metadata needs an EC P-256 key/) }));
  });

});
