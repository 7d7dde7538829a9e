import { createHash } from 'node:crypto';
import { connectKms } from '../../lib/otc/kms-connection';
import type { KmsClient } from '../../lib/otc/kms-client';
import { credentialEnvironment, instantRetries, kmsConfig, useKmsEmulator } from './kms-fixture';
import type { KmsEmulator } from './kms-emulator';

describe('KmsClient against the emulator (AK/SK)', () => {
  const kmsTest = useKmsEmulator();
  let emulator: KmsEmulator;
  let kms: KmsClient;
  beforeEach(() => {
    ({ emulator, kms } = kmsTest);
  });

  it('creates an EC_P384 SIGN_VERIFY key and describes it', async () => {
    const keyId = await kms.createKey({ alias: 'root-a', keySpec: 'EC_P384', keyUsage: 'SIGN_VERIFY', description: 'test' });
    expect(await kms.describeKey(keyId)).toEqual({ keyId, alias: 'root-a', keySpec: 'EC_P384', keyUsage: 'SIGN_VERIFY', keyState: '2', origin: 'kms' });
    // Each call carried a 36-character sequence and was signed with AK/SK.
    expect(emulator.calls.every((call) => call.sequence?.length === 36 && call.auth === 'aksk')).toBe(true);
  });

  it('lists every key across pages', async () => {
    for (let index = 0; index < 205; index++) emulator.seedKey({ alias: `key-${index}`, keySpec: 'AES_256' });
    const keys = await kms.listKeys();
    expect(keys).toHaveLength(205);
    expect(new Set(keys.map((key) => key.alias)).size).toBe(205);
    expect(emulator.callCounts()['kms list-keys']).toBe(3);
  });

  it('returns the public key as PEM with \\r\\n line breaks, and signs a digest', async () => {
    const keyId = emulator.seedKey({ alias: 'p256', keySpec: 'EC_P256' });
    const pem = await kms.getPublicKey(keyId);
    expect(pem).toContain('-----BEGIN PUBLIC KEY-----\r\n');
    const digest = createHash('sha256').update('data').digest();
    const result = await kms.sign({ keyId, digest, algorithm: 'ECDSA_SHA_256' });
    expect(result.signature[0]).toBe(0x30); // DER by default
    expect(result.sequence).toMatch(/^[0-9a-f-]{36}$/);
    expect(result.requestId).toMatch(/^[0-9a-f]{32}$/);
    expect(emulator.calls.at(-1)?.sequence).toBe(result.sequence);
  });

  it.each([
    ['a symmetric key', 'KMS.1115', 'KMS_KEY_UNUSABLE', { keySpec: 'AES_256' }, 'ECDSA_SHA_384', 48],
    ['an RSA key with ECDSA', 'KMS.0332', 'KMS_KEY_UNUSABLE', { keySpec: 'RSA_2048' }, 'ECDSA_SHA_256', 32],
    ['a P-384 key with SHA-256', 'KMS.0332', 'KMS_KEY_UNUSABLE', { keySpec: 'EC_P384' }, 'ECDSA_SHA_256', 32],
    ['a 32-byte digest for SHA-384', 'KMS.0329', 'KMS_REQUEST_REJECTED', { keySpec: 'EC_P384' }, 'ECDSA_SHA_384', 32],
    ['a disabled key', 'KMS.0209', 'KMS_KEY_UNUSABLE', { keySpec: 'EC_P384', state: '3' }, 'ECDSA_SHA_384', 48],
    ['a key pending deletion', 'KMS.0210', 'KMS_KEY_UNUSABLE', { keySpec: 'EC_P384', state: '4' }, 'ECDSA_SHA_384', 48],
  ] as const)('maps a sign with %s (%s) to %s', async (_label, serviceCode, code, key, algorithm, digestBytes) => {
    const keyId = emulator.seedKey({ alias: 'k', ...key });
    const error = await kms.sign({ keyId, digest: Buffer.alloc(digestBytes, 1), algorithm }).catch((caught) => caught);
    expect(error).toMatchObject({ code, details: { serviceCode, httpStatus: 400, operation: 'kms sign' } });
  });

  it('maps a duplicate alias and an exhausted quota', async () => {
    emulator.seedKey({ alias: 'taken', keySpec: 'EC_P384', state: '4' });
    await expect(kms.createKey({ alias: 'taken', keySpec: 'EC_P384', keyUsage: 'SIGN_VERIFY' })).rejects.toMatchObject({
      code: 'KMS_ALIAS_TAKEN',
      message: expect.stringContaining('possibly one pending deletion'),
    });
    for (let index = 0; index < 99; index++) emulator.seedKey({ alias: `filler-${index}`, keySpec: 'AES_256' });
    await expect(kms.createKey({ alias: 'one-too-many', keySpec: 'EC_P384', keyUsage: 'SIGN_VERIFY' })).rejects.toMatchObject({
      code: 'KMS_QUOTA_EXCEEDED',
      details: { serviceCode: 'KMS.1105' },
    });
  });

  it('refuses the public key of a symmetric key', async () => {
    const keyId = emulator.seedKey({ alias: 'aes', keySpec: 'AES_256' });
    await expect(kms.getPublicKey(keyId)).rejects.toMatchObject({ code: 'KMS_KEY_UNUSABLE', details: { serviceCode: 'KMS.0331' } });
  });

  it('reports a wrong secret key as OTC_AUTH_FAILED, mentioning the clock', async () => {
    const wrong = connectKms(kmsConfig(emulator).otc!, {
      environment: { ...credentialEnvironment('access-key'), OS_SECRET_KEY: 'SKcanary-wrong-secret-0000' },
      http: instantRetries().options,
    }).kms;
    const error = await wrong.listKeys().catch((caught) => caught);
    expect(error).toMatchObject({ code: 'OTC_AUTH_FAILED', details: { httpStatus: 401, serviceCode: 'APIGW.0301' } });
    expect(error.message).toContain('clock');
    expect(error.message).not.toContain('SKcanary');
  });
});
