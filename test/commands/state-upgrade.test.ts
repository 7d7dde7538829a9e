import { chmodSync, cpSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runStateUpgrade } from '../../lib/commands/state-upgrade';
import { ensureRootKeys, rootKeyPlan } from '../../lib/pki/otc-kms-root-keys';
import { LocalRootKeys } from '../../lib/pki/root-keys';
import { rootKeysFor, runBootstrap } from '../../lib/synth';
import { runVerify } from '../../lib/verify';
import { runCliCaptured } from '../helpers/cli';
import { FIXTURE_CLOCK, FIXTURE_ENV, fixtureConfig } from '../helpers/fixture-state';
import { ceremonyLines, copyStateDirectory, readManifest, rehashManifest, writeEnvironment, writeManifest } from '../helpers/state-tampering';
import { useTempDirectory } from '../helpers/temp-directory';
import { treeContents } from '../helpers/tree';
import { credentialEnvironment, instantRetries, kmsConfig, useKmsEmulator } from '../otc/kms-fixture';

/*
 * States minted before root keys were pinned (sigstore-cdk/state/v1) are refused until
 * `sigstore-cdk state upgrade` has checked every root against the signer's key and pinned it: no
 * trust on first use. test/fixtures/state-v1/ is the fixture exactly as the v1 code wrote it.
 */
const LEGACY_FIXTURE = join(__dirname, '..', 'fixtures', 'state-v1', FIXTURE_ENV);

/** A copy of the v1 fixture as `<directory>/.sigstore/test`, with the modes git does not keep. */
function copyLegacyFixture(directory: string): string {
  const stateRoot = join(directory, '.sigstore');
  cpSync(LEGACY_FIXTURE, join(stateRoot, FIXTURE_ENV), { recursive: true });
  const restrict = (path: string) => {
    if (statSync(path).isDirectory()) {
      chmodSync(path, 0o700);
      for (const name of readdirSync(path)) restrict(join(path, name));
    } else chmodSync(path, 0o600);
  };
  restrict(stateRoot);
  return stateRoot;
}

/** What the v1 code wrote for a state minted now: format v1, no pins, no marker, no head, unchained log records. */
function toLegacyState(stateDir: string): void {
  const manifest = readManifest(stateDir);
  manifest.format = 'sigstore-cdk/state/v1';
  delete manifest.rootKeys;
  delete manifest.publishedAt;
  delete manifest.ceremonyLog;
  writeManifest(stateDir, manifest);
  const records = ceremonyLines(stateDir).map((line) => JSON.parse(line));
  const legacy = records
    .filter((record) => record.kind === 'sign-intent')
    .map((intent) => {
      const result = records.find((record) => record.kind === 'sign-result' && record.seq === intent.seq + 1);
      const { time, env, keyRef, purpose, digestAlgorithm, digest, operator } = intent;
      return JSON.stringify({ time, env, keyRef, purpose, digestAlgorithm, digest, operator, ...(result?.receipt ? { receipt: result.receipt } : {}) });
    });
  writeFileSync(join(stateDir, 'ceremony.jsonl'), legacy.map((line) => `${line}\n`).join(''), { mode: 0o600 });
}

describe('a v1 state (local signer, the committed v1 fixture)', () => {
  const temp = useTempDirectory();
  let stateRoot: string;
  let envsDir: string;
  beforeEach(() => {
    stateRoot = copyLegacyFixture(temp());
    envsDir = writeEnvironment(temp(), FIXTURE_ENV, 'organization: Test Org\nsigner: local\n');
  });
  const cliArgs = (...args: string[]) => [...args, '--env', FIXTURE_ENV, '--envs-dir', envsDir, '--state-dir', stateRoot];

  it('is refused by verify and synth (exit 3), with the upgrade command named; nothing is written', async () => {
    const before = treeContents(stateRoot);
    const verify = await runCliCaptured(cliArgs('verify'));
    expect(verify.stderr).toContain('error [STATE_FORMAT_OUTDATED]');
    expect(verify.stderr).toContain(`sigstore-cdk state upgrade --env ${FIXTURE_ENV}`);
    expect(verify.code).toBe(3);
    const synth = await runCliCaptured([...cliArgs('synth'), '--out', join(temp(), 'dist')]);
    expect(synth.code).toBe(3);
    expect(synth.stderr).toContain('STATE_FORMAT_OUTDATED');
    expect(treeContents(stateRoot)).toEqual(before);
  });

  it('state upgrade pins the local keys after checking them, keeps every byte of the material, and the state then verifies', async () => {
    const stateDir = join(stateRoot, FIXTURE_ENV);
    const material = () => Object.fromEntries(Object.entries(treeContents(stateDir)).filter(([path]) => path !== 'manifest.json' && path !== 'ceremony.jsonl'));
    const before = material();
    const upgrade = await runCliCaptured(['state', 'upgrade', ...cliArgs(), '--json']);
    expect(upgrade.code).toBe(0);
    const result = JSON.parse(upgrade.stdout);
    expect(result).toMatchObject({ upgraded: true, from: 'sigstore-cdk/state/v1', to: 'sigstore-cdk/state/v2' });
    expect(result.pinned.map((pin: { root: string; keyRef: string; evidence: string }) => [pin.root, pin.keyRef, pin.evidence])).toEqual([
      ['fulcio', 'local:signer/fulcio-root.key.pem', 'local key file signer/fulcio-root.key.pem'],
      ['tsa', 'local:signer/tsa-root.key.pem', 'local key file signer/tsa-root.key.pem'],
      ['tuf', 'local:signer/tuf-root.key.pem', 'local key file signer/tuf-root.key.pem'],
    ]);
    expect(material()).toEqual(before); // nothing re-minted, nothing re-signed
    const manifest = readManifest(stateDir);
    expect(manifest.format).toBe('sigstore-cdk/state/v2');
    expect(manifest.publishedAt).toBe(manifest.items['tuf-root-v1'].mintedAt);
    // One adopt record per root-signed item: the two roots and two intermediates, and TUF root v1.
    const records = ceremonyLines(stateDir).map((line) => JSON.parse(line));
    expect(records.map((record) => [record.kind, record.purpose])).toEqual([
      ['adopt', 'fulcio-root certificate'],
      ['adopt', 'fulcio-intermediate certificate'],
      ['adopt', 'tsa-root certificate'],
      ['adopt', 'tsa-intermediate certificate'],
      ['adopt', 'tuf root metadata v1'],
    ]);
    expect(manifest.ceremonyLog).toEqual({ records: 5, head: expect.any(String) });
    const verified = await runVerify({ config: fixtureConfig(), stateRoot, clock: FIXTURE_CLOCK });
    expect(verified).toMatchObject({ ok: true, rootKeys: 'compared with the signer' });

    const again = await runStateUpgrade({ config: fixtureConfig(), stateRoot, rootKeys: new LocalRootKeys() });
    expect(again.upgraded).toBe(false);
  });

  it('state upgrade refuses a v1 state whose Fulcio root is not its signer key (copied from another environment); nothing is written', async () => {
    const other = join(temp(), 'other');
    writeEnvironment(other, 'other');
    expect((await runCliCaptured(['synth', '--env', 'other', '--envs-dir', join(other, 'envs'), '--state-dir', join(other, '.sigstore'), '--out', join(other, 'dist')])).code).toBe(0);
    const stateDir = join(stateRoot, FIXTURE_ENV);
    copyStateDirectory(join(other, '.sigstore', 'other'), stateDir, 'fulcio');
    rehashManifest(stateDir);
    const before = treeContents(stateRoot);
    const upgrade = await runCliCaptured(['state', 'upgrade', ...cliArgs()]);
    expect(upgrade.code).toBe(3);
    expect(upgrade.stderr).toContain('error [STATE_SIGNER_MISMATCH]');
    expect(upgrade.stderr).toContain('fulcio/root.crt.pem carries the key');
    expect(upgrade.stderr).toContain('local key file signer/fulcio-root.key.pem');
    expect(treeContents(stateRoot)).toEqual(before);
  });
});

describe('a v1 state with KMS root keys (through the emulator)', () => {
  const temp = useTempDirectory();
  const kmsTest = useKmsEmulator({ tokenLifetimeMs: 3600_000 });

  it('state upgrade checks every root with KMS get-publickey before pinning, keeps the v1 log, and refuses when the alias names another key', async () => {
    const config = kmsConfig(kmsTest.emulator, 'kms');
    const keys = await ensureRootKeys({ kms: kmsTest.kms, roots: rootKeyPlan(config.otc!), env: 'kms' });
    const stateRoot = join(temp(), '.sigstore');
    const rootKeys = () => rootKeysFor(config, { environment: credentialEnvironment('access-key'), http: instantRetries().options });
    await runBootstrap({ config, stateRoot, rootKeys: rootKeys() });
    const stateDir = join(stateRoot, 'kms');
    toLegacyState(stateDir);
    const legacyLog = readFileSync(join(stateDir, 'ceremony.jsonl'));

    // The alias moved to another key: the state does not fit it, so nothing is pinned.
    kmsTest.emulator.seedKey({ alias: 'sigstore-tsa-root-g2', keySpec: 'EC_P384' });
    const moved = { ...config, otc: { ...config.otc!, kms: { ...config.otc!.kms, tsaRootKeyAlias: 'sigstore-tsa-root-g2' } } };
    const before = treeContents(stateRoot);
    await expect(
      runStateUpgrade({ config: moved, stateRoot, rootKeys: rootKeysFor(moved, { environment: credentialEnvironment('access-key'), http: instantRetries().options }) }),
    ).rejects.toMatchObject({ code: 'STATE_SIGNER_MISMATCH', message: expect.stringContaining('tsa/root.crt.pem carries the key') });
    expect(treeContents(stateRoot)).toEqual(before);

    kmsTest.emulator.calls.length = 0;
    const result = await runStateUpgrade({ config, stateRoot, rootKeys: rootKeys() });
    expect(result.pinned.map((pin) => [pin.keyRef, pin.evidence])).toEqual([
      [`otc-kms:${keys[0].keyId}`, `KMS get-publickey of key ${keys[0].keyId} (alias "sigstore-fulcio-root-g1")`],
      [`otc-kms:${keys[1].keyId}`, `KMS get-publickey of key ${keys[1].keyId} (alias "sigstore-tsa-root-g1")`],
      [`otc-kms:${keys[2].keyId}`, `KMS get-publickey of key ${keys[2].keyId} (alias "sigstore-tuf-root-g1")`],
    ]);
    expect(kmsTest.emulator.calls.filter((call) => call.api === 'sign')).toEqual([]);
    expect(result.legacyCeremonyLog).toBe('ceremony-log-v1.jsonl');
    expect(readFileSync(join(stateDir, 'ceremony-log-v1.jsonl'))).toEqual(legacyLog);
    expect(readManifest(stateDir).items['ceremony-log-v1']).toMatchObject({ files: { log: 'ceremony-log-v1.jsonl' } });
    await expect(runVerify({ config, stateRoot, rootKeys: rootKeys() })).resolves.toMatchObject({ ok: true });
  });
});
