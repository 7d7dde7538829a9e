import type { KmsConnection } from '../../lib/otc/kms-connection';
import { ensureRootKeys, OtcKmsRootKeys, rootKeyPlan } from '../../lib/pki/otc-kms-root-keys';
import { StateSnapshot } from '../../lib/state/store';
import { connectTo, FULCIO_ALIAS, kmsConfig, startEmulator, TSA_ALIAS, TUF_ALIAS } from '../otc/kms-fixture';
import type { KmsEmulator } from '../otc/kms-emulator';

describe('ensureRootKeys (keys ensure)', () => {
  let emulator: KmsEmulator;
  let connection: KmsConnection;
  beforeEach(async () => {
    emulator = await startEmulator();
    connection = connectTo(emulator);
  });
  afterEach(() => emulator.stop());

  const ensure = () => ensureRootKeys({ kms: connection.kms, roots: rootKeyPlan(kmsConfig(emulator).otc!), env: 'kms' });

  it('creates a SIGN_VERIFY key per root (Fulcio and TSA EC_P384, TUF EC_P256), then finds the same keys without creating any', async () => {
    const first = await ensure();
    expect(first).toEqual([
      { root: 'fulcio', alias: FULCIO_ALIAS, keyId: expect.any(String), keySpec: 'EC_P384', keyUsage: 'SIGN_VERIFY', keyState: '2', created: true },
      { root: 'tsa', alias: TSA_ALIAS, keyId: expect.any(String), keySpec: 'EC_P384', keyUsage: 'SIGN_VERIFY', keyState: '2', created: true },
      { root: 'tuf', alias: TUF_ALIAS, keyId: expect.any(String), keySpec: 'EC_P256', keyUsage: 'SIGN_VERIFY', keyState: '2', created: true },
    ]);
    expect(emulator.listKeys().map(({ alias, keySpec, keyUsage, state }) => ({ alias, keySpec, keyUsage, state }))).toEqual([
      { alias: FULCIO_ALIAS, keySpec: 'EC_P384', keyUsage: 'SIGN_VERIFY', state: '2' },
      { alias: TSA_ALIAS, keySpec: 'EC_P384', keyUsage: 'SIGN_VERIFY', state: '2' },
      { alias: TUF_ALIAS, keySpec: 'EC_P256', keyUsage: 'SIGN_VERIFY', state: '2' },
    ]);
    const second = await ensure();
    expect(second.map((key) => [key.keyId, key.created])).toEqual(first.map((key) => [key.keyId, false]));
    expect(emulator.callCounts()['kms create-key']).toBe(3);
  });

  it('plans the TUF root key only when its alias is set, always as EC_P256', () => {
    const otc = kmsConfig(emulator, 'kms', '    keySpec: EC_P256').otc!;
    expect(rootKeyPlan(otc)).toEqual({
      fulcio: { alias: FULCIO_ALIAS, keySpec: 'EC_P256', keySpecSource: 'otc.kms.keySpec is EC_P256' },
      tsa: { alias: TSA_ALIAS, keySpec: 'EC_P256', keySpecSource: 'otc.kms.keySpec is EC_P256' },
      tuf: { alias: TUF_ALIAS, keySpec: 'EC_P256', keySpecSource: expect.stringContaining('the TUF root key must be EC_P256') },
    });
    expect(Object.keys(rootKeyPlan({ ...otc, kms: { ...otc.kms, tufRootKeyAlias: undefined } }))).toEqual(['fulcio', 'tsa']);
  });

  it('refuses a P-384 key under the TUF alias: TUF clients verify ECDSA with SHA-256 only', async () => {
    emulator.seedKey({ alias: TUF_ALIAS, keySpec: 'EC_P384' });
    await expect(ensure()).rejects.toMatchObject({
      code: 'KMS_KEY_UNUSABLE',
      message: expect.stringContaining('has key spec EC_P384, but the TUF root key must be EC_P256 (TUF clients verify ECDSA with SHA-256 only)'),
    });
    expect(emulator.callCounts()['kms create-key']).toBeUndefined();
  });

  it('creates only the missing key when one root already has a good key', async () => {
    const existing = emulator.seedKey({ alias: FULCIO_ALIAS, keySpec: 'EC_P384' });
    const result = await ensure();
    expect(result.map((key) => [key.root, key.keyId === existing, key.created])).toEqual([
      ['fulcio', true, false],
      ['tsa', false, true],
      ['tuf', false, true],
    ]);
  });

  it.each([
    ['a symmetric key', { keySpec: 'AES_256' }, 'has key spec AES_256, but otc.kms.keySpec is EC_P384'],
    ['a P-256 key when P-384 is configured', { keySpec: 'EC_P256' }, 'has key spec EC_P256, but otc.kms.keySpec is EC_P384'],
    ['an ENCRYPT_DECRYPT RSA key', { keySpec: 'RSA_2048', keyUsage: 'ENCRYPT_DECRYPT' }, 'has key usage ENCRYPT_DECRYPT, expected SIGN_VERIFY'],
    ['a disabled key', { keySpec: 'EC_P384', state: '3' }, 'is in state 3 (disabled), expected 2 (enabled): enable it in the console'],
    ['a key pending deletion', { keySpec: 'EC_P384', state: '4' }, 'is in state 4 (pending deletion), expected 2 (enabled): cancel its deletion'],
  ])('refuses %s under a root alias and creates nothing', async (_label, key, message) => {
    emulator.seedKey({ alias: TSA_ALIAS, ...key });
    const error = await ensure().catch((caught) => caught);
    expect(error).toMatchObject({ code: 'KMS_KEY_UNUSABLE', exitCode: 4 });
    expect(error.message).toContain('nothing was created');
    expect(error.message).toContain(message);
    expect(emulator.callCounts()['kms create-key']).toBeUndefined();
    expect(emulator.listKeys()).toHaveLength(1);
  });

  it('adopts its own key when a create was retried after its answer was lost', async () => {
    // KMS creates the fulcio key but the answer is a 500; the retry then meets the alias (KMS.1104).
    emulator.inject({ api: 'create-key', status: 500, afterServing: true });
    const result = await ensure();
    expect(result.map((key) => [key.root, key.created])).toEqual([
      ['fulcio', true],
      ['tsa', true],
      ['tuf', true],
    ]);
    expect(emulator.calls.filter((call) => call.api === 'create-key').map((call) => `${call.status}${call.errorCode ? ` ${call.errorCode}` : ''}`)).toEqual([
      '500 injected',
      '400 KMS.1104',
      '200',
      '200',
    ]);
    expect(emulator.listKeys()).toHaveLength(3);
    expect(result[0].keyId).toBe(emulator.listKeys().find((key) => key.alias === FULCIO_ALIAS)!.keyId);
  });
});

describe('OtcKmsRootKeys (bootstrap)', () => {
  let emulator: KmsEmulator;
  let provider: OtcKmsRootKeys;
  beforeEach(async () => {
    emulator = await startEmulator();
    const config = kmsConfig(emulator);
    provider = new OtcKmsRootKeys({ connection: connectTo(emulator), roots: rootKeyPlan(config.otc!), env: 'kms' });
  });
  afterEach(() => emulator.stop());

  it('describes itself by region and project, and gives a signer per root named by key id', async () => {
    const fulcio = emulator.seedKey({ alias: FULCIO_ALIAS, keySpec: 'EC_P384' });
    const tsa = emulator.seedKey({ alias: TSA_ALIAS, keySpec: 'EC_P384' });
    const tuf = emulator.seedKey({ alias: TUF_ALIAS, keySpec: 'EC_P256' });
    expect(provider.description).toMatch(/^OTC KMS \(eu-de, project [0-9a-f]{32}\)$/);
    const snapshot = StateSnapshot.empty('kms');
    expect((await provider.signerFor('fulcio', snapshot, new Date())).keyRef).toBe(`otc-kms:${fulcio}`);
    expect((await provider.signerFor('tsa', snapshot, new Date())).keyRef).toBe(`otc-kms:${tsa}`);
    expect((await provider.signerFor('tuf', snapshot, new Date())).keyRef).toBe(`otc-kms:${tuf}`);
    expect(emulator.callCounts()).toEqual({ 'kms list-keys': 1, 'kms describe-key': 3 }); // one lookup for every root
  });

  it('never creates a key: a missing alias asks for keys ensure', async () => {
    emulator.seedKey({ alias: FULCIO_ALIAS, keySpec: 'EC_P384' });
    emulator.seedKey({ alias: TUF_ALIAS, keySpec: 'EC_P256' });
    const error = await provider.signerFor('fulcio', StateSnapshot.empty('kms'), new Date()).catch((caught) => caught);
    expect(error).toMatchObject({ code: 'KMS_KEY_NOT_FOUND' });
    expect(error.message).toContain(`no KMS key has the alias "${TSA_ALIAS}" (tsa root)`);
    expect(error.message).toContain('run "sigstore-cdk keys ensure --env kms" first');
    expect(emulator.callCounts()['kms create-key']).toBeUndefined();
  });

  it('refuses a key with the wrong spec before signing anything', async () => {
    emulator.seedKey({ alias: FULCIO_ALIAS, keySpec: 'EC_P384' });
    emulator.seedKey({ alias: TSA_ALIAS, keySpec: 'EC_P256' });
    emulator.seedKey({ alias: TUF_ALIAS, keySpec: 'EC_P256' });
    await expect(provider.signerFor('fulcio', StateSnapshot.empty('kms'), new Date())).rejects.toMatchObject({
      code: 'KMS_KEY_UNUSABLE',
      message: expect.stringContaining('has key spec EC_P256, but otc.kms.keySpec is EC_P384'),
    });
    expect(emulator.callCounts()['kms sign']).toBeUndefined();
  });
});
