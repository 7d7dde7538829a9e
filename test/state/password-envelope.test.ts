import { randomBytes } from 'node:crypto';
import { PasswordEnvelope, SEALED_PASSWORD_FORMAT, expectSealedPassword, looksSealed, parseDataKeyRecord } from '../../lib/state/password-envelope';

/* The sealing of one password under a data key: AES-256-GCM bound to environment, item and path. */
describe('PasswordEnvelope', () => {
  const dataKey = randomBytes(64);
  const envelope = new PasswordEnvelope(dataKey);
  const binding = { env: 'prd', itemId: 'tsa-leaf-g2', path: 'tsa/g2/leaf.key.password' };
  const password = Buffer.from('Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5');

  it('seals to JSON that holds neither the password nor the key, with a fresh nonce each time, and opens back', () => {
    const sealed = envelope.seal(password, binding);
    const record = JSON.parse(sealed.toString('utf8'));
    expect(Object.keys(record).sort()).toEqual(['ciphertext', 'format', 'nonce', 'tag']);
    expect(record.format).toBe(SEALED_PASSWORD_FORMAT);
    expect(Buffer.from(record.nonce, 'base64')).toHaveLength(12);
    expect(Buffer.from(record.tag, 'base64')).toHaveLength(16);
    expect(sealed.toString('utf8')).not.toContain(password.toString('utf8'));
    expect(sealed.toString('hex')).not.toContain(dataKey.toString('hex').slice(0, 16));
    expect(envelope.seal(password, binding).equals(sealed)).toBe(false);
    expect(envelope.open(sealed, binding)).toEqual(password);
    expect(looksSealed(sealed)).toBe(true);
    expect(looksSealed(password)).toBe(false);
    expect(() => expectSealedPassword(sealed, binding.path)).not.toThrow();
    expect(JSON.stringify({ envelope })).not.toContain(dataKey.toString('base64'));
  });

  it.each([
    ['another item (a swapped generation)', { ...binding, itemId: 'tsa-leaf' }],
    ['another path', { ...binding, path: 'ctlog/private.key.password' }],
    ['another environment', { ...binding, env: 'dev' }],
  ])('does not open for %s', (_label, other) => {
    const sealed = envelope.seal(password, binding);
    expect(() => envelope.open(sealed, other)).toThrow(expect.objectContaining({ code: 'STATE_CORRUPT', message: expect.stringContaining('does not open under the state\'s data key') }));
  });

  it('does not open under another data key, nor when a byte of the cipher text or tag changed', () => {
    const sealed = envelope.seal(password, binding);
    expect(() => new PasswordEnvelope(randomBytes(64)).open(sealed, binding)).toThrow(expect.objectContaining({ code: 'STATE_CORRUPT' }));
    const record = JSON.parse(sealed.toString('utf8'));
    for (const field of ['ciphertext', 'tag'] as const) {
      const bytes = Buffer.from(record[field], 'base64');
      bytes[0] ^= 1;
      const tampered = Buffer.from(JSON.stringify({ ...record, [field]: bytes.toString('base64') }));
      expect(() => envelope.open(tampered, binding)).toThrow(expect.objectContaining({ code: 'STATE_CORRUPT' }));
    }
  });

  it('names a file that is not a sealed password, and a data key record that is not one', () => {
    expect(() => expectSealedPassword(password, binding.path)).toThrow(`${binding.path} is not a password sealed under the state's KMS data key`);
    expect(() => expectSealedPassword(Buffer.from(JSON.stringify({ format: SEALED_PASSWORD_FORMAT, nonce: 'AAAA', tag: 'AAAA', ciphertext: 'AAAA' })), binding.path)).toThrow('is not a password sealed');
    expect(() => parseDataKeyRecord(Buffer.from('{"format":"sigstore-cdk/kms-data-key/v1","keyId":"x"}'))).toThrow(
      expect.objectContaining({ code: 'STATE_CORRUPT', message: expect.stringContaining('kms/data-key.json is not a sigstore-cdk/kms-data-key/v1 record (keyId, keyAlias, cipherText, encryptionContext, createdAt)') }),
    );
  });
});
