import { ensureRootKeys, OtcKmsRootKeys, rootKeyPlan } from '../../lib/pki/otc-kms-root-keys';
import { StateSnapshot } from '../../lib/state/store';
import { connectTo, kmsConfig, TUF_ALIAS, useKmsEmulator } from '../otc/kms-fixture';

/* The TUF root keys tuf.root.keys names in KMS: created by keys ensure, found by alias or id, checked before use (emulator). */
describe('TUF root keys in KMS (tuf.root.keys)', () => {
  const kmsTest = useKmsEmulator();
  const provider = () => {
    const config = kmsConfig(kmsTest.emulator);
    return new OtcKmsRootKeys({ connection: connectTo(kmsTest.emulator), roots: rootKeyPlan(config.otc!), env: 'kms' });
  };
  const snapshot = StateSnapshot.empty('kms');
  const now = new Date('2026-01-01T00:00:00Z');

  it('keys ensure creates each further TUF root alias as EC_P256 SIGN_VERIFY, once', async () => {
    const roots = rootKeyPlan(kmsConfig(kmsTest.emulator).otc!);
    const tufRootKeyAliases = ['sigstore-tuf-root-a-g2', 'sigstore-tuf-root-b-g2', TUF_ALIAS];
    const first = await ensureRootKeys({ kms: kmsTest.kms, roots, tufRootKeyAliases, env: 'kms' });
    expect(first.map((key) => [key.root, key.alias, key.keySpec, key.created])).toEqual([
      ['fulcio', 'sigstore-fulcio-root-g1', 'EC_P384', true],
      ['tsa', 'sigstore-tsa-root-g1', 'EC_P384', true],
      ['tuf', TUF_ALIAS, 'EC_P256', true],
      ['tuf', 'sigstore-tuf-root-a-g2', 'EC_P256', true],
      ['tuf', 'sigstore-tuf-root-b-g2', 'EC_P256', true],
    ]);
    const again = await ensureRootKeys({ kms: kmsTest.kms, roots, tufRootKeyAliases, env: 'kms' });
    expect(again.map((key) => key.created)).toEqual([false, false, false, false, false]);
    expect(again.map((key) => key.keyId)).toEqual(first.map((key) => key.keyId));
  });

  it('finds a key by alias or by id and refuses a missing alias or a key of the wrong spec', async () => {
    const byAlias = kmsTest.emulator.seedKey({ alias: 'sigstore-tuf-root-a-g2', keySpec: 'EC_P256' });
    const byId = kmsTest.emulator.seedKey({ alias: 'whatever-name', keySpec: 'EC_P256' });
    const p384 = kmsTest.emulator.seedKey({ alias: 'sigstore-tuf-root-p384', keySpec: 'EC_P384' });
    expect((await provider().signerForTufRootKey({ kmsAlias: 'sigstore-tuf-root-a-g2' }, snapshot, now)).keyRef).toBe(`otc-kms:${byAlias}`);
    expect((await provider().signerForTufRootKey({ kmsKeyId: byId }, snapshot, now)).keyRef).toBe(`otc-kms:${byId}`);
    expect((await provider().signerForKeyRef(`otc-kms:${byId}`, snapshot)).keyRef).toBe(`otc-kms:${byId}`);
    await expect(provider().signerForTufRootKey({ kmsAlias: 'sigstore-tuf-root-g9' }, snapshot, now)).rejects.toMatchObject({
      code: 'KMS_KEY_NOT_FOUND',
      message: expect.stringContaining('run "sigstore-cdk keys ensure --env kms" first'),
    });
    await expect(provider().signerForTufRootKey({ kmsKeyId: p384 }, snapshot, now)).rejects.toMatchObject({
      code: 'KMS_KEY_UNUSABLE',
      message: expect.stringContaining('has key spec EC_P384, but the TUF root key must be EC_P256'),
    });
    expect(kmsTest.emulator.calls.filter((call) => call.api === 'sign')).toEqual([]);
  });
});
