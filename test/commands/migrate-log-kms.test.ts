import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCliCaptured } from '../helpers/cli';
import { runCliProcess } from '../helpers/cli-process';
import { useTempDirectory } from '../helpers/temp-directory';
import { credentialEnvironment, FAKE_SECRETS, useKmsEmulator, writeKmsEnvironment } from '../otc/kms-fixture';

/*
 * The log migration (rotate rekor-log) on a state whose passwords are sealed under a KMS data key
 * (signer otc-kms): the migration re-signs the TUF targets with the online targets key, whose
 * password opens only through KMS (decrypt-datakey), so it must open the passwords as rotate does.
 * The real CLI as a process against the KMS emulator for the migration and the synth after it (a
 * process opens the passwords afresh); the state they start from is made by the same CLI in process.
 */
describe('rotate rekor-log with the otc-kms signer (sealed passwords, emulator)', () => {
  const temp = useTempDirectory();
  const kmsTest = useKmsEmulator({ tokenLifetimeMs: 3600_000 });

  it('opens the sealed passwords once (decrypt-datakey), records generation 2 and re-publishes the targets', async () => {
    const emulator = kmsTest.emulator;
    const stateRoot = join(temp(), '.sigstore');
    const envsDir = writeKmsEnvironment(temp(), emulator);
    const argsOf = (args: string[]) => [...args, '--env', 'kms', '--envs-dir', envsDir, ...(args[0] === 'keys' ? [] : ['--state-dir', stateRoot])];
    const checked = (args: string[], run: { code: number | null; stdout: string; stderr: string }) => {
      if (run.code !== 0) throw new Error(`${args.join(' ')} exited ${run.code}: ${run.stderr}`);
      for (const secret of FAKE_SECRETS) expect(run.stdout + run.stderr).not.toContain(secret);
      return run;
    };
    const ok = async (...args: string[]) => checked(args, await runCliProcess(argsOf(args), { cwd: temp(), env: credentialEnvironment('access-key'), timeoutMs: 120_000 }));
    // The same CLI in process (runCliCaptured resolves relative paths against the test's cwd: every path here is absolute).
    const inProcess = async (...args: string[]) => checked(args, await runCliCaptured(argsOf(args), { environment: credentialEnvironment('access-key') }));
    await inProcess('keys', 'ensure');
    await inProcess('bootstrap');
    await inProcess('synth', '--out', join(temp(), 'dist'), '--cloud-out', join(temp(), 'cdktf.out'));
    const envFile = join(envsDir, 'kms.yaml');
    writeFileSync(envFile, `${readFileSync(envFile, 'utf8')}logs: { rekor: v2 }\n`);
    writeFileSync(
      envFile,
      readFileSync(envFile, 'utf8').includes('services:')
        ? readFileSync(envFile, 'utf8').replace(/^services:\n/m, 'services:\n  trillian: { treeIds: { rekor: "1234567890123456789", ctlog: "987654321098765432" } }\n')
        : `${readFileSync(envFile, 'utf8')}services: { trillian: { treeIds: { rekor: "1234567890123456789", ctlog: "987654321098765432" } } }\n`,
    );
    const targetsVersion = () => JSON.parse(readFileSync(join(temp(), 'dist', 'trust', 'tuf', 'timestamp.json'), 'utf8')).signed.meta['snapshot.json'].version as number;
    const snapshotBefore = targetsVersion();
    emulator.calls.length = 0;
    const cutOver = new Date(Date.now() + 15 * 24 * 60 * 60 * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const rotated = await ok('rotate', 'rekor-log', '--at', cutOver);
    expect(rotated.stderr).toContain('rotated rekor-log: rekor-log g2 (rekor-v2-key)');
    expect(emulator.calls.filter((call) => call.api === 'decrypt-datakey' && call.status === 200)).toHaveLength(1);
    const manifest = JSON.parse(readFileSync(join(stateRoot, 'kms', 'manifest.json'), 'utf8'));
    expect(manifest.generations['rekor-log']).toEqual([expect.objectContaining({ generation: 2, itemId: 'rekor-v2-key' })]);
    await ok('synth', '--out', join(temp(), 'dist'), '--cloud-out', join(temp(), 'cdktf.out'));
    const snapshotVersion = targetsVersion();
    expect(snapshotVersion).toBeGreaterThan(snapshotBefore);
    const targetsFile = readFileSync(join(temp(), 'dist', 'trust', 'tuf', `${JSON.parse(readFileSync(join(temp(), 'dist', 'trust', 'tuf', `${snapshotVersion}.snapshot.json`), 'utf8')).signed.meta['targets.json'].version}.targets.json`), 'utf8');
    expect(Object.keys(JSON.parse(targetsFile).signed.targets)).toContain('rekor_v2.pub');
    await inProcess('verify');
  });
});
