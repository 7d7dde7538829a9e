import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureRootKeys, rootKeyPlan } from '../../lib/pki/otc-kms-root-keys';
import { bootstrap } from '../../lib/pki/bootstrap';
import { LocalRootKeys } from '../../lib/pki/root-keys';
import { StateStore } from '../../lib/state/store';
import { StateKeyring, stateKeyAliasOf } from '../../lib/custody/state-keyring';
import { DATA_KEY_ITEM, parseDataKeyRecord } from '../../lib/state/password-envelope';
import { mintBeyondPki, rootKeysFor, runBootstrap } from '../../lib/synth';
import { runTufRefresh } from '../../lib/tuf-refresh';
import { runCliCaptured } from '../helpers/cli';
import { configFromYaml } from '../helpers/config';
import { copyStateDirectory, forgeCustody, readManifest, rehashManifest, runCliProcess, writeEnvironment } from '../helpers/state-tampering';
import { useTempDirectory } from '../helpers/temp-directory';
import { treeContents } from '../helpers/tree';
import { credentialEnvironment, FAKE, instantRetries, kmsConfig, useKmsEmulator, writeKmsEnvironment } from '../otc/kms-fixture';

/** A complete local-signer state of `env` (what synth mints), without writing dist/. */
async function mintLocalState(stateRoot: string, env: string): Promise<void> {
  const config = configFromYaml('organization: Custody Org\nsigner: local\n', env);
  await bootstrap({ config, store: new StateStore({ root: stateRoot, env }), rootKeys: new LocalRootKeys(), extend: mintBeyondPki(config) });
}

/*
 * Issue 9, case 6: a substituted root must not pass. Another environment's fulcio/ (or tsa/) copied
 * into a state, with the manifest re-hashed, is refused by `tuf refresh` (nothing is published) and
 * by `verify`, as real processes. With KMS, even an attacker who also re-pins the manifest and forges
 * the ceremony log is caught: verify compares the pins with KMS get-publickey.
 */
describe('a root copied from another environment', () => {
  const temp = useTempDirectory();
  /** Two complete local-signer environments, "a" and "b", minted once for the file. */
  let template: string;

  beforeAll(async () => {
    template = mkdtempSync(join(tmpdir(), 'sigstore-cdk-pinning-'));
    for (const env of ['a', 'b']) {
      writeEnvironment(template, env);
      await mintLocalState(join(template, '.sigstore'), env);
    }
  });
  afterAll(() => rmSync(template, { recursive: true, force: true }));

  it.each(['fulcio', 'tsa'])('%s/ of environment b in a, manifest re-hashed: tuf refresh and verify exit 3 and publish nothing', async (root) => {
    const project = join(temp(), 'project');
    cpSync(template, project, { recursive: true });
    const stateDir = join(project, '.sigstore', 'a');
    copyStateDirectory(join(project, '.sigstore', 'b'), stateDir, root);
    rehashManifest(stateDir);
    const before = treeContents(stateDir);
    // The Fulcio case runs the CLI as processes (exit codes as scripts see them), the TSA case in process.
    const cli = (...args: string[]) => {
      const argv = [...args, '--env', 'a', '--envs-dir', join(project, 'envs'), '--state-dir', join(project, '.sigstore')];
      return root === 'fulcio' ? runCliProcess(argv, { cwd: project }) : runCliCaptured(argv);
    };

    const refresh = await cli('tuf', 'refresh');
    expect(refresh.stderr).toContain('error [STATE_ROOT_KEY_MISMATCH]');
    expect(refresh.stderr).toContain(`${root}/root.crt.pem`);
    expect(refresh.code).toBe(3);
    expect(refresh.stderr).not.toContain('published targets');
    expect(treeContents(stateDir)).toEqual(before);

    const verify = await cli('verify');
    expect(verify.stderr).toContain('error [STATE_ROOT_KEY_MISMATCH]');
    expect(verify.code).toBe(3);
    expect(verify.stderr).not.toContain('verified');
  });
});

describe('a substituted root in a KMS-rooted state (through the emulator)', () => {
  const temp = useTempDirectory();
  const kmsTest = useKmsEmulator({ tokenLifetimeMs: 3600_000 });

  it('the manifest claims signedBy otc-kms; re-pinned and with a forged ceremony log it still fails verify: KMS get-publickey disagrees', async () => {
    const config = kmsConfig(kmsTest.emulator, 'kms');
    const keys = await ensureRootKeys({ kms: kmsTest.kms, roots: rootKeyPlan(config.otc!), env: 'kms' });
    const stateRoot = join(temp(), '.sigstore');
    const kmsOptions = { environment: credentialEnvironment('access-key'), http: instantRetries().options };
    await runBootstrap({ config, stateRoot, rootKeys: rootKeysFor(config, kmsOptions) });
    // Another environment, local signer: its Fulcio root and intermediate are copied into the KMS state.
    await mintLocalState(stateRoot, 'other');
    const stateDir = join(stateRoot, 'kms');
    copyStateDirectory(join(stateRoot, 'other'), stateDir, 'fulcio');
    // The copied intermediate's password is plaintext: sealed with the state's data key, as someone with KMS access could.
    const keyring = new StateKeyring({ kms: kmsTest.kms, keyAlias: stateKeyAliasOf(config), env: 'kms' });
    const envelope = await keyring.open(parseDataKeyRecord(readFileSync(join(stateDir, DATA_KEY_ITEM.files.dataKey))));
    const passwordPath = 'fulcio/intermediate.key.password';
    writeFileSync(join(stateDir, passwordPath), envelope.seal(readFileSync(join(stateDir, passwordPath)), { env: 'kms', itemId: 'fulcio-intermediate', path: passwordPath }), { mode: 0o600 });
    expect(readManifest(stateDir).items['fulcio-root'].signedBy).toBe(`otc-kms:${keys[0].keyId}`);

    // Only re-hashed: refused without KMS (the pin is the KMS key's, the certificate carries another key).
    rehashManifest(stateDir);
    await expect(runTufRefresh({ config, stateRoot, rootKeys: rootKeysFor(config, kmsOptions) })).rejects.toMatchObject({ code: 'STATE_ROOT_KEY_MISMATCH', exitCode: 3 });

    // Re-pinned and the log forged as well: the state agrees with itself, so it takes KMS to tell.
    forgeCustody(stateDir, 'fulcio');
    await runTufRefresh({ config, stateRoot, rootKeys: rootKeysFor(config, kmsOptions) }).catch(() => undefined);
    writeKmsEnvironment(temp(), kmsTest.emulator, 'kms');
    const verify = await runCliProcess(['verify', '--env', 'kms', '--envs-dir', join(temp(), 'envs'), '--state-dir', stateRoot], {
      cwd: temp(),
      env: credentialEnvironment('access-key'),
    });
    expect(verify.stderr).toContain('error [STATE_SIGNER_MISMATCH]');
    expect(verify.stderr).toContain('get-publickey');
    expect(verify.stderr).toContain(keys[0].keyId);
    expect(verify.code).toBe(3);
    expect(verify.stderr).not.toContain(FAKE.secretKey);
    expect(kmsTest.emulator.calls.filter((call) => call.api === 'get-publickey').length).toBeGreaterThan(0);
    expect(kmsTest.emulator.calls.filter((call) => call.api === 'sign').length).toBe(5); // the bootstrap's; verify signs nothing
  });
});
