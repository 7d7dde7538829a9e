import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runRotate } from '../../lib/commands/rotate';
import type { SigstoreConfig } from '../../lib/config/schema';
import { ensureRootKeyGenerations } from '../../lib/lifecycle/root-key-generations';
import { aliasForGeneration, ensureRootKeys, rootKeyPlan } from '../../lib/pki/otc-kms-root-keys';
import { StateStore } from '../../lib/state/store';
import { rootKeysFor, runBootstrap } from '../../lib/synth';
import { runVerify } from '../../lib/verify';
import { useTempDirectory } from '../helpers/temp-directory';
import { credentialEnvironment, FULCIO_ALIAS, instantRetries, kmsConfig, useKmsEmulator } from '../otc/kms-fixture';

const ENV = 'kms';

/*
 * A root rotation through the KMS emulator: `keys ensure --next fulcio-root` creates the next
 * generation's key under the advanced alias, `rotate fulcio-root` signs the new root and intermediate
 * with it (two KMS signatures, each in the ceremony log), and `verify` compares the new pin with KMS.
 */
describe('rotate fulcio-root with OTC KMS (emulator)', () => {
  const temp = useTempDirectory();
  const kms = useKmsEmulator({ tokenLifetimeMs: 3600_000 });
  let config: SigstoreConfig;
  let stateRoot: string;
  const rootKeys = () => rootKeysFor(config, { environment: credentialEnvironment('access-key'), http: instantRetries().options });
  const load = () => new StateStore({ root: stateRoot, env: ENV }).load();

  beforeEach(async () => {
    config = kmsConfig(kms.emulator, ENV);
    stateRoot = join(temp(), '.sigstore');
    mkdirSync(stateRoot, { mode: 0o700 });
    await ensureRootKeys({ kms: kms.kms, roots: rootKeyPlan(config.otc!), env: ENV });
    await runBootstrap({ config, stateRoot, clock: () => new Date('2026-01-01T00:00:00Z'), rootKeys: rootKeys() });
  });

  it('advances the alias generation', () => {
    expect(aliasForGeneration(FULCIO_ALIAS, 2, 'otc.kms.fulcioRootKeyAlias')).toBe('sigstore-fulcio-root-g2');
    expect(aliasForGeneration('pki-root-g7', 3, 'otc.kms.fulcioRootKeyAlias')).toBe('pki-root-g9');
    expect(() => aliasForGeneration('fulcio-root', 2, 'otc.kms.fulcioRootKeyAlias')).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining('otc.kms.fulcioRootKeyAlias "fulcio-root" has no generation suffix') }),
    );
  });

  it('keys ensure --next creates generation 2, rotate signs with it, verify compares it with KMS', async () => {
    const clock = () => new Date('2026-06-01T00:00:00Z');
    const at = new Date('2026-06-20T00:00:00Z');
    const manifestBefore = readFileSync(join(stateRoot, ENV, 'manifest.json'));
    // Before keys ensure: the generation 2 key does not exist; nothing is written.
    await expect(runRotate({ config, item: 'fulcio-root', stateRoot, clock, at, rootKeys: rootKeys() })).rejects.toThrow(
      expect.objectContaining({ code: 'KMS_KEY_NOT_FOUND', message: expect.stringContaining('"sigstore-fulcio-root-g2" (generation 2 of the fulcio root)') }),
    );
    expect(readFileSync(join(stateRoot, ENV, 'manifest.json'))).toEqual(manifestBefore);

    const ensured = await ensureRootKeyGenerations({ kms: kms.kms, roots: rootKeyPlan(config.otc!), snapshot: await load(), next: ['fulcio-root'], env: ENV });
    const second = ensured.find((key) => key.generation === 2)!;
    expect(second).toMatchObject({ root: 'fulcio', alias: 'sigstore-fulcio-root-g2', keySpec: 'EC_P384', keyUsage: 'SIGN_VERIFY', created: true });
    expect(ensured.filter((key) => key.generation === 1).every((key) => !key.created)).toBe(true);
    const again = await ensureRootKeyGenerations({ kms: kms.kms, roots: rootKeyPlan(config.otc!), snapshot: await load(), next: ['fulcio-root'], env: ENV });
    expect(again.find((key) => key.generation === 2)).toMatchObject({ keyId: second.keyId, created: false });

    kms.emulator.calls.length = 0;
    const result = await runRotate({ config, item: 'fulcio-root', stateRoot, clock, at, rootKeys: rootKeys() });
    expect(result.generations.map((generation) => generation.itemId)).toEqual(['fulcio-root-g2', 'fulcio-intermediate-g2']);
    const signCalls = kms.emulator.calls.filter((call) => call.api === 'sign');
    expect(signCalls).toHaveLength(2);
    const manifest = JSON.parse(readFileSync(join(stateRoot, ENV, 'manifest.json'), 'utf8'));
    expect(manifest.generations['fulcio-root'][0].rootKey.keyRef).toBe(`otc-kms:${second.keyId}`);
    expect(manifest.items['fulcio-intermediate-g2'].signedBy).toBe(`otc-kms:${second.keyId}`);
    const log = readFileSync(join(stateRoot, ENV, 'ceremony.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    expect(log.slice(-4).map((record) => [record.kind, record.purpose ?? record.outcome, record.keyRef])).toEqual([
      ['sign-intent', 'fulcio-root-g2 certificate', `otc-kms:${second.keyId}`],
      ['sign-result', 'signed', `otc-kms:${second.keyId}`],
      ['sign-intent', 'fulcio-intermediate-g2 certificate', `otc-kms:${second.keyId}`],
      ['sign-result', 'signed', `otc-kms:${second.keyId}`],
    ]);

    // verify (online) compares the generation 2 pin with KMS get-publickey of the g2 alias.
    const verified = await runVerify({ config, stateRoot, rootKeys: rootKeys(), clock: () => new Date('2026-06-02T00:00:00Z') });
    expect(verified.problems).toEqual([]);
    expect(verified.rootKeys).toBe('compared with the signer');

    // keys ensure without --next now also keeps the recorded generation 2 (idempotent).
    const recorded = await ensureRootKeyGenerations({ kms: kms.kms, roots: rootKeyPlan(config.otc!), snapshot: await load(), env: ENV });
    expect(recorded.map((key) => [key.root, key.generation, key.created])).toEqual([
      ['fulcio', 1, false],
      ['tsa', 1, false],
      ['tuf', 1, false],
      ['fulcio', 2, false],
    ]);

    // A TSA leaf renewal signs nothing in KMS: it only opens the state's passwords (one decrypt-datakey).
    kms.emulator.calls.length = 0;
    await runRotate({ config, item: 'tsa-leaf', stateRoot, clock, at, rootKeys: rootKeys() });
    expect(kms.emulator.calls.map((call) => call.api)).toEqual(['decrypt-datakey']);
  });

  it('a Fulcio intermediate renewal under the same root needs KMS for its one signature only (and the data key of the passwords)', async () => {
    kms.emulator.calls.length = 0;
    const result = await runRotate({ config, item: 'fulcio-intermediate', stateRoot, clock: () => new Date('2026-06-01T00:00:00Z'), at: new Date('2026-06-20T00:00:00Z'), rootKeys: rootKeys() });
    expect(result.generations.map((generation) => generation.itemId)).toEqual(['fulcio-intermediate-g2']);
    const apis = kms.emulator.calls.map((call) => call.api);
    expect(apis.filter((api) => api === 'sign')).toHaveLength(1);
    // Nothing but opening the passwords, finding the root key and reading its public key (reads), and the one signature.
    expect(apis.filter((api) => !['decrypt-datakey', 'list-keys', 'describe-key', 'get-publickey'].includes(api))).toEqual(['sign']);
    expect(apis).not.toContain('create-key');
    const manifest = JSON.parse(readFileSync(join(stateRoot, ENV, 'manifest.json'), 'utf8'));
    expect(manifest.items['fulcio-intermediate-g2'].signedBy).toBe(manifest.rootKeys.fulcio.keyRef);
    const log = readFileSync(join(stateRoot, ENV, 'ceremony.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    expect(log.slice(-2).map((record) => [record.kind, record.purpose ?? record.outcome, record.keyRef])).toEqual([
      ['sign-intent', 'fulcio-intermediate-g2 certificate', manifest.rootKeys.fulcio.keyRef],
      ['sign-result', 'signed', manifest.rootKeys.fulcio.keyRef],
    ]);
  });
});
