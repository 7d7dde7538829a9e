import { createHash } from 'node:crypto';
import { redactSecrets } from '../../lib/redaction';
import { DATA_KEY_BYTES } from '../../lib/otc/kms-client';
import { useKmsEmulator } from './kms-fixture';

/*
 * create-datakey / decrypt-datakey (DEW KMS API reference "Creating a DEK", "Decrypting a DEK")
 * through the real client and the emulator: the data key opens only with the key that made it, and
 * only from the cipher text KMS returned.
 */
describe('KMS data keys (create-datakey, decrypt-datakey)', () => {
  const kmsTest = useKmsEmulator();
  const context = { 'sigstore-cdk-env': 'prd' };

  it('creates a 64-byte data key under a symmetric key (by alias) and decrypts it back', async () => {
    const { emulator, kms } = kmsTest;
    const keyId = emulator.seedKey({ alias: 'state-key', keySpec: 'AES_256' });
    const created = await kms.createDataKey({ keyId: 'alias/state-key', encryptionContext: context });
    expect(created.keyId).toBe(keyId);
    expect(created.plaintext).toHaveLength(DATA_KEY_BYTES);
    // The documented layout: 188 bytes, the key id in ASCII inside, a SHA-256 of the rest at the end.
    const cipher = Buffer.from(created.cipherText, 'hex');
    expect(cipher).toHaveLength(188);
    expect(cipher.subarray(0, 4).toString('hex')).toBe('02009800');
    expect(cipher.subarray(116, 152).toString('ascii')).toBe(keyId);
    expect(createHash('sha256').update(cipher.subarray(0, 156)).digest()).toEqual(cipher.subarray(156));
    // The plaintext is not in the cipher text.
    expect(created.cipherText.toLowerCase()).not.toContain(created.plaintext.toString('hex'));

    const opened = await kms.decryptDataKey({ keyId, cipherText: created.cipherText, encryptionContext: context });
    expect(opened.equals(created.plaintext)).toBe(true);
    expect(await kms.decryptDataKey({ keyId: 'alias/state-key', cipherText: created.cipherText, encryptionContext: context })).toEqual(created.plaintext);
    expect(emulator.callCounts()).toMatchObject({ 'kms create-datakey': 1, 'kms decrypt-datakey': 2 });
    // The plaintext is registered as a secret: no message can carry it.
    expect(redactSecrets(`key ${created.plaintext.toString('hex').toUpperCase()}`)).toBe('key [redacted]');
  });

  it('refuses to decrypt with another key, with another encryption context, or a changed cipher text', async () => {
    const { emulator, kms } = kmsTest;
    emulator.seedKey({ alias: 'state-key', keySpec: 'AES_256' });
    const otherId = emulator.seedKey({ alias: 'other-key', keySpec: 'AES_256' });
    const { cipherText } = await kms.createDataKey({ keyId: 'alias/state-key', encryptionContext: context });

    const refusals = [
      [otherId, cipherText, context, 'KMS.2201'],
      ['alias/state-key', cipherText, { 'sigstore-cdk-env': 'dev' }, 'KMS.2201'],
      ['alias/state-key', cipherText, undefined, 'KMS.2201'],
      // One bit of the sealed key flipped: the digest at the end no longer matches.
      ['alias/state-key', flipNibble(cipherText, 20), context, 'KMS.2203'],
      // Cut short.
      ['alias/state-key', cipherText.slice(0, -2), context, 'KMS.2204'],
    ] as const;
    for (const [keyId, text, encryptionContext, serviceCode] of refusals) {
      const error = await kms.decryptDataKey({ keyId, cipherText: text, ...(encryptionContext ? { encryptionContext } : {}) }).catch((caught) => caught);
      expect(error).toMatchObject({ code: 'KMS_DATA_KEY_REFUSED', details: { serviceCode, httpStatus: 400, operation: 'kms decrypt-datakey' } });
      expect(error.message).toContain('otc.kms.stateKeyAlias');
    }
  });

  it('refuses asymmetric, disabled and unknown keys with the documented codes', async () => {
    const { emulator, kms } = kmsTest;
    const ec = emulator.seedKey({ alias: 'ec', keySpec: 'EC_P256' });
    const rsaSign = emulator.seedKey({ alias: 'rsa', keySpec: 'RSA_2048', keyUsage: 'SIGN_VERIFY' });
    const disabled = emulator.seedKey({ alias: 'off', keySpec: 'AES_256', state: '3' });
    const cases = [
      [ec, 'KMS.1114', 'KMS_KEY_UNUSABLE'],
      [rsaSign, 'KMS.0335', 'KMS_KEY_UNUSABLE'],
      [disabled, 'KMS.0209', 'KMS_KEY_UNUSABLE'],
      ['alias/missing', 'KMS.0207', 'KMS_KEY_NOT_FOUND'],
    ] as const;
    for (const [keyId, serviceCode, code] of cases) {
      await expect(kms.createDataKey({ keyId })).rejects.toMatchObject({ code, details: { serviceCode } });
    }
  });
});

/** The cipher text with one hex digit changed at `index`. */
function flipNibble(hex: string, index: number): string {
  const flipped = (parseInt(hex[index], 16) ^ 0x1).toString(16).toUpperCase();
  return hex.slice(0, index) + flipped + hex.slice(index + 1);
}
