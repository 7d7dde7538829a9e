import { createHash, generateKeyPairSync, verify } from 'node:crypto';
import type { KmsClient } from '../../lib/otc/kms-client';
import { publicKeysEqual } from '../../lib/pki/keys';
import { OtcKmsSigner, parseKmsPublicKey } from '../../lib/pki/otc-kms-signer';
import { rsaKeyPair } from '../helpers/rsa-fixture-keys';
import { useKmsEmulator } from '../otc/kms-fixture';
import type { KmsEmulator } from '../otc/kms-emulator';

describe('OtcKmsSigner', () => {
  const kmsTest = useKmsEmulator();
  let emulator: KmsEmulator;
  let kms: KmsClient;
  beforeEach(() => {
    ({ emulator, kms } = kmsTest);
  });

  it.each([
    ['EC_P384', 'sha384', 'ECDSA_SHA_384', 48],
    ['EC_P256', 'sha256', 'ECDSA_SHA_256', 32],
  ] as const)('signs with a %s key: the %s digest is sent (%s), the DER signature verifies', async (keySpec, hash, algorithm, digestBytes) => {
    const keyId = emulator.seedKey({ alias: 'root', keySpec });
    const signer = new OtcKmsSigner(kms, keyId);
    expect(signer.keyRef).toBe(`otc-kms:${keyId}`);
    expect(publicKeysEqual(await signer.publicKey(), emulator.publicKeyOf(keyId))).toBe(true);
    const data = Buffer.from('a TBSCertificate');
    const { signature, receipt } = await signer.signWithReceipt(data, 'test');
    expect(verify(hash, data, { key: emulator.publicKeyOf(keyId), dsaEncoding: 'der' }, signature)).toBe(true);
    expect(receipt).toEqual({ kmsKeyId: keyId, signingAlgorithm: algorithm, sequence: expect.any(String), requestId: expect.stringMatching(/^[0-9a-f]{32}$/) });
    // The emulator checked the digest length for the algorithm (KMS.0329 otherwise); the digest is the data's hash.
    expect(digestBytes).toBe(createHash(hash).update(data).digest().length);
  });

  it('fetches the public key once', async () => {
    const signer = new OtcKmsSigner(kms, emulator.seedKey({ alias: 'root', keySpec: 'EC_P384' }));
    await signer.sign(Buffer.from('one'), 'test');
    await signer.sign(Buffer.from('two'), 'test');
    await signer.publicKey();
    expect(emulator.callCounts()).toEqual({ 'kms get-publickey': 1, 'kms sign': 2 });
  });

  it('accepts raw r‖s signatures and returns DER', async () => {
    emulator.signatureEncoding = 'raw';
    const keyId = emulator.seedKey({ alias: 'root', keySpec: 'EC_P384' });
    const data = Buffer.from('payload');
    const signature = await new OtcKmsSigner(kms, keyId).sign(data, 'test');
    expect(signature[0]).toBe(0x30);
    expect(verify('sha384', data, { key: emulator.publicKeyOf(keyId), dsaEncoding: 'der' }, signature)).toBe(true);
  });

  it('refuses a signature that does not verify against the public key', async () => {
    emulator.corruptSignatures = true;
    const keyId = emulator.seedKey({ alias: 'root', keySpec: 'EC_P384' });
    const error = await new OtcKmsSigner(kms, keyId).sign(Buffer.from('payload'), 'test').catch((caught) => caught);
    expect(error).toMatchObject({ code: 'SIGNATURE_INVALID', exitCode: 4 });
    expect(error.message).toContain(`KMS key ${keyId} returned a signature that does not verify against its public key`);
    expect(error.message).toMatch(/request id [0-9a-f]{32}/);
  });

  it('refuses a key that is not EC P-256/P-384', async () => {
    const keyId = emulator.seedKey({ alias: 'rsa', keySpec: 'RSA_2048' });
    await expect(new OtcKmsSigner(kms, keyId).publicKey()).rejects.toMatchObject({ code: 'SIGNER_KEY_UNSUPPORTED', message: expect.stringContaining('rsa key') });
  });
});

describe('parseKmsPublicKey', () => {
  it('reads SPKI PEM with \\r\\n line breaks', () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    const pem = (publicKey.export({ type: 'spki', format: 'pem' }) as string).replace(/\n/g, '\r\n');
    expect(publicKeysEqual(parseKmsPublicKey(pem, 'k'), publicKey)).toBe(true);
  });

  it('reads the PKCS#1 body of the documented example under a PUBLIC KEY label', () => {
    const { publicKey } = rsaKeyPair(2048);
    const pkcs1 = publicKey.export({ type: 'pkcs1', format: 'der' }).toString('base64');
    const pem = `-----BEGIN PUBLIC KEY-----\r\n${pkcs1.match(/.{1,64}/g)!.join('\r\n')}\r\n-----END PUBLIC KEY-----\r\n`;
    expect(publicKeysEqual(parseKmsPublicKey(pem, 'k'), publicKey)).toBe(true);
  });

  it('refuses something that is not a public key PEM', () => {
    expect(() => parseKmsPublicKey('hello', 'otc-kms:k')).toThrow(expect.objectContaining({ code: 'SIGNER_KEY_UNSUPPORTED' }));
    expect(() => parseKmsPublicKey('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----', 'otc-kms:k')).toThrow(
      expect.objectContaining({ message: expect.stringContaining('neither SubjectPublicKeyInfo nor PKCS#1') }),
    );
  });
});
