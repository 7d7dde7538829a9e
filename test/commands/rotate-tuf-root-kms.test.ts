import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCliCaptured } from '../helpers/cli';
import { setWallClock } from '../helpers/fake-date';
import { serveDirectory } from '../helpers/static-server';
import { useTempDirectory } from '../helpers/temp-directory';
import { TufTestClient } from '../helpers/tuf-client';
import { credentialEnvironment, FAKE_SECRETS, TUF_ALIAS, useKmsEmulator, writeKmsEnvironment } from '../otc/kms-fixture';

/*
 * A KMS-held TUF root rotated as an operator does it, every step the CLI's own entry point (in-process:
 * what a process adds, exit codes and crashes, is tested in test/cli/) against the KMS emulator: the next generation's alias in the environment file, `keys ensure` creates it,
 * `rotate tuf-root` signs root v2 with the g1 key (found by the key id the state recorded) and the
 * g2 key, then a second rotation to two keys with threshold 2. tuf-js, initialized with v1, follows.
 */
describe('rotate tuf-root with the TUF root key in KMS (emulator)', () => {
  const temp = useTempDirectory();
  const kmsTest = useKmsEmulator({ tokenLifetimeMs: 3600_000 });

  afterEach(() => jest.useRealTimers());

  it('keys ensure creates the -g2 alias, rotate signs v2 with g1 and g2 (each on the ceremony log), verify and tuf-js accept the chain', async () => {
    const emulator = kmsTest.emulator;
    const stateRoot = join(temp(), '.sigstore');
    const envsDir = writeKmsEnvironment(temp(), emulator);
    // synth writes where an operator's would, in the project directory (temp()), not in this test's working directory.
    const outputs = (args: readonly string[]) => (args[0] === 'synth' && !args.includes('--out') ? ['--out', join(temp(), 'dist'), '--cloud-out', join(temp(), 'cdktf.out')] : []);
    const cli = (...args: string[]) =>
      runCliCaptured([...args, ...outputs(args), '--env', 'kms', '--envs-dir', envsDir, ...(args[0] === 'keys' ? [] : ['--state-dir', stateRoot])], {
        environment: credentialEnvironment('access-key'),
      });
    const ok = async (...args: string[]) => {
      const run = await cli(...args);
      if (run.code !== 0) throw new Error(`${args.join(' ')} exited ${run.code}: ${run.stderr}`);
      for (const secret of FAKE_SECRETS) expect(run.stdout + run.stderr).not.toContain(secret);
      return run;
    };
    const ensureG1 = JSON.parse((await ok('keys', 'ensure', '--json')).stdout);
    const g1 = ensureG1.keys.find((key: { alias: string }) => key.alias === TUF_ALIAS).keyId;
    await ok('bootstrap');
    await ok('synth', '--out', join(temp(), 'dist'), '--cloud-out', join(temp(), 'cdktf.out'));
    const trusted = join(temp(), 'trusted-1.root.json');
    writeFileSync(trusted, readFileSync(join(temp(), 'dist', 'trust', 'tuf', '1.root.json')));

    // The next generation: a new alias (an alias stays taken while its old key waits for deletion).
    const envFile = join(envsDir, 'kms.yaml');
    writeFileSync(envFile, readFileSync(envFile, 'utf8').replace(`tufRootKeyAlias: ${TUF_ALIAS}`, 'tufRootKeyAlias: sigstore-tuf-root-g2'));
    // Before the rotation the state is still at g1: verify accepts it (the pins are checked by key id).
    const ensure = JSON.parse((await ok('keys', 'ensure', '--json')).stdout);
    const g2Status = ensure.keys.find((key: { alias: string }) => key.alias === 'sigstore-tuf-root-g2');
    expect(g2Status).toMatchObject({ root: 'tuf', keySpec: 'EC_P256', keyUsage: 'SIGN_VERIFY', created: true });
    const pending = await ok('verify');
    expect(pending.stderr).toContain(`warning: tuf.root names the root keys otc-kms:${g2Status.keyId} with threshold 1, but the current TUF root (generation 1) has otc-kms:${g1}`);
    expect(pending.stderr).toContain('run "sigstore-cdk rotate tuf-root --env kms"');

    emulator.calls.length = 0;
    const rotated = await ok('rotate', 'tuf-root');
    const signs = emulator.calls.filter((call) => call.api === 'sign' && call.status === 200);
    expect(signs).toHaveLength(2);
    expect(rotated.stderr).toContain(`TUF root v1 (generation 1, threshold 1: otc-kms:${g1})`);
    expect(rotated.stderr).toContain(`-> v2 (generation 2, threshold 1: otc-kms:${g2Status.keyId}), signed by otc-kms:${g1}, otc-kms:${g2Status.keyId}`);
    expect(rotated.stderr).toMatch(/deploy, in order:\n {2}1\. sigstore-cdk synth --env kms.*\n {2}2\. deploy dist\/trust\/tuf\//);

    const manifest = JSON.parse(readFileSync(join(stateRoot, 'kms', 'manifest.json'), 'utf8'));
    expect(manifest.tufRootKeyGenerations.map((generation: { keys: { keyRef: string }[] }) => generation.keys.map((key) => key.keyRef))).toEqual([[`otc-kms:${g1}`], [`otc-kms:${g2Status.keyId}`]]);
    const log = readFileSync(join(stateRoot, 'kms', 'ceremony.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    const intents = log.filter((record) => record.kind === 'sign-intent' && record.purpose === 'tuf root metadata v2');
    expect(intents.map((record) => record.keyRef)).toEqual([`otc-kms:${g1}`, `otc-kms:${g2Status.keyId}`]);

    // verify (with KMS get-publickey of the pinned keys) and --offline both accept the rotated chain.
    expect((await ok('verify')).stderr).not.toContain('warning: tuf.root');
    await ok('verify', '--offline');

    // A second rotation exactly as the README's "Rotating the TUF root" says: its YAML, then its commands.
    const readme = rotationSection();
    writeFileSync(envFile, `${readFileSync(envFile, 'utf8')}\n${readme.yaml}`);
    const [ensureLine, rotateLine, ...afterLines] = readme.commands;
    expect(ensureLine).toEqual(['keys', 'ensure']);
    expect(rotateLine).toEqual(['rotate', 'tuf-root']);
    expect(afterLines).toEqual([['synth'], ['verify']]);
    const missing = await cli(...rotateLine);
    expect(missing.code).toBe(4);
    expect(missing.stderr).toContain('error [KMS_KEY_NOT_FOUND]');
    expect(missing.stderr).toContain('sigstore-tuf-root-a-g2');
    await ok(...ensureLine);
    emulator.calls.length = 0;
    await ok(...rotateLine);
    expect(emulator.calls.filter((call) => call.api === 'sign' && call.status === 200)).toHaveLength(3);
    for (const line of afterLines) await ok(...line);

    const root3 = JSON.parse(readFileSync(join(temp(), 'dist', 'trust', 'tuf', '3.root.json'), 'utf8'));
    expect(root3.signed.roles.root.threshold).toBe(2);
    expect(root3.signed.roles.root.keyids).toHaveLength(2);
    const server = await serveDirectory(join(temp(), 'dist', 'trust', 'tuf'));
    try {
      setWallClock(new Date(Date.now() + 60_000).toISOString());
      const client = new TufTestClient(server.url, join(temp(), 'client'), trusted);
      const trustedRoot = await client.fetchTarget('trusted_root.json');
      expect(trustedRoot.equals(readFileSync(join(temp(), 'dist', 'trust', 'trusted_root.json')))).toBe(true);
      expect(server.requests.slice(0, 4)).toEqual(['/2.root.json', '/3.root.json', '/4.root.json', '/timestamp.json']);
    } finally {
      await server.close();
    }
  }, 120_000);
});

/** The YAML block and the commands (without `sigstore-cdk` and `--env prd`) of the README's "Rotating the TUF root". */
function rotationSection(): { yaml: string; commands: string[][] } {
  const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
  const start = readme.indexOf('### Rotating the TUF root');
  const section = readme.slice(start, readme.indexOf('\n## ', start));
  const yaml = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
  const sh = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  if (start < 0 || !yaml || !sh) throw new Error('README.md has no "Rotating the TUF root" section with a yaml and a sh block');
  const commands = sh
    .split('\n')
    .map((line) => line.replace(/#.*$/, '').trim())
    .filter((line) => line.length > 0)
    .map((line) => {
      const words = line.split(/\s+/);
      if (words[0] !== 'sigstore-cdk' || words.slice(-2).join(' ') !== '--env prd') throw new Error(`unexpected README command: ${line}`);
      return words.slice(1, -2);
    });
  return { yaml, commands };
}
