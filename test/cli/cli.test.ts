import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCliCaptured } from '../helpers/cli';
import { useTempDirectory } from '../helpers/temp-directory';
import { readTree } from '../helpers/tree';
import { childEnvironment } from '../helpers/cli-process';

describe('sigstore-cdk synth / bootstrap', () => {
  const temp = useTempDirectory();
  const paths = () => ({ envs: join(temp(), 'envs'), state: join(temp(), '.sigstore'), out: join(temp(), 'dist') });
  const args = (command: string, env = 'dev', ...extra: string[]) => {
    const { envs, state, out } = paths();
    return [command, '--env', env, '--envs-dir', envs, '--state-dir', state, ...(command === 'synth' ? ['--out', out] : []), ...extra];
  };
  const writeEnv = (name: string, text: string) => {
    mkdirSync(paths().envs, { recursive: true });
    writeFileSync(join(paths().envs, `${name}.yaml`), text);
  };

  it('synth mints, writes the trust outputs and reports progress; the outputs hold no secret', async () => {
    writeEnv('dev', 'organization: CLI Org\n');
    const run = await runCliCaptured(args('synth'));
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('sigstore-cdk synth --env dev (signer: local');
    expect(run.stderr).toMatch(/✓ mint fulcio-root \(\d+ ms\)/);
    expect(run.stderr).toContain('minted 27 items; wrote 21 files to');
    expect(run.stderr).toContain('14 files of the TUF repository in trust/tuf/');
    expect(readdirSync(join(paths().out, 'trust')).sort()).toEqual(['ctlog.pub', 'fulcio-chain.pem', 'rekor.pub', 'trusted_root.json', 'tsa-chain.pem', 'tuf']);

    // No private key, and none of the state's passwords, anywhere in the public output or on the console.
    const secrets = [...readTree(join(paths().state, 'dev'))]
      .filter(([path]) => path.endsWith('.password'))
      .map(([, entry]) => entry.bytes!.toString('utf8'));
    expect(secrets).toHaveLength(14); // 7 PKI keys, the TUF root key, 3 TUF role keys, 3 service (MySQL, Redis) passwords
    for (const [path, entry] of readTree(paths().out)) {
      if (!entry.bytes) continue;
      // The cluster Secrets manifest is the one output that holds key material: 0600, never public.
      if (path === 'sigstore.secrets.k8s.yaml') {
        expect(entry.mode).toBe(0o600);
        continue;
      }
      const text = entry.bytes.toString('utf8');
      expect([path, text.includes('PRIVATE KEY')]).toEqual([path, false]);
      for (const secret of secrets) expect(text.includes(secret)).toBe(false);
    }
    for (const secret of secrets) expect(run.stdout + run.stderr).not.toContain(secret);

    const again = await runCliCaptured(args('synth'));
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('state complete, nothing minted');
  });

  it('--json prints a machine-readable result on stdout', async () => {
    writeEnv('dev', 'organization: CLI Org\n');
    const run = await runCliCaptured(args('bootstrap', 'dev', '--json'));
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result).toEqual({ env: 'dev', minted: expect.arrayContaining(['fulcio-root', 'rekor-key']), stateWritten: true });
    const second = JSON.parse((await runCliCaptured(args('bootstrap', 'dev', '--json'))).stdout);
    expect(second).toEqual({ env: 'dev', minted: [], stateWritten: false });
  });

  it('an invalid environment file exits 2, names the fields, and writes nothing', async () => {
    writeEnv('dev', 'organization: CLI Org\nservices:\n  fulcio:\n    replicas: many\n');
    const run = await runCliCaptured(args('synth', 'dev', '--json'));
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('services.fulcio.replicas (line 4): expected a whole number of replicas from 1 to 20 (got "many")');
    expect(JSON.parse(run.stdout)).toEqual({ error: { code: 'CONFIG_INVALID', message: expect.stringContaining('services.fulcio.replicas') } });
    expect(existsSync(paths().state)).toBe(false);
    expect(existsSync(paths().out)).toBe(false);
  });

  it('an unknown environment exits 2 and lists the available ones', async () => {
    writeEnv('dev', 'organization: CLI Org\n');
    const run = await runCliCaptured(args('synth', 'prd'));
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('environment "prd" has no file');
    expect(run.stderr).toContain('available: dev');
  });

  it('an unknown option exits 2 with usage help', async () => {
    const run = await runCliCaptured(['synth', '--frobnicate']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("unknown option '--frobnicate'");
  });

  it('with a KMS signer, synth never mints: it exits 3 and asks for the ceremony', async () => {
    writeEnv('prd', 'organization: CLI Org\nsigner: otc-kms\notc:\n  region: eu-de\n  kms: { fulcioRootKeyAlias: f-g1, tsaRootKeyAlias: t-g1, tufRootKeyAlias: u-g1 }\n');
    const run = await runCliCaptured(args('synth', 'prd'));
    expect(run.code).toBe(3);
    expect(run.stderr).toContain('error [STATE_MISSING_ROOTS]');
    expect(run.stderr).toContain('run "sigstore-cdk bootstrap --env prd" first');
    expect(existsSync(paths().out)).toBe(false);
    expect(existsSync(join(paths().state, 'prd'))).toBe(false);
  });

  it('a corrupt state exits 3 and leaves the previous outputs in place', async () => {
    writeEnv('dev', 'organization: CLI Org\n');
    expect((await runCliCaptured(args('synth'))).code).toBe(0);
    const outputs = readTree(paths().out);
    writeFileSync(join(paths().state, 'dev', 'rekor', 'public.pem'), 'tampered');
    const run = await runCliCaptured(args('synth'));
    expect(run.code).toBe(3);
    expect(run.stderr).toContain('rekor/public.pem does not match its SHA-256');
    expect(readTree(paths().out)).toEqual(outputs);
    expect(readFileSync(join(paths().state, 'dev', 'rekor', 'public.pem'), 'utf8')).toBe('tampered');
  });
});

describe('bin/sigstore-cdk.js (the installed launcher, as a process)', () => {
  const temp = useTempDirectory();

  it('runs synth on the embedded dev environment and exits 0; a bad env exits 2', () => {
    const root = join(__dirname, '..', '..');
    const launcher = join(root, 'bin', 'sigstore-cdk.js');
    const ok = spawnSync(process.execPath, [launcher, 'synth', '--state-dir', join(temp(), 's'), '--out', join(temp(), 'o')], { cwd: root, env: childEnvironment(), encoding: 'utf8' });
    expect(ok.stderr).toContain('✓ mint fulcio-root');
    expect(ok.status).toBe(0);
    expect(existsSync(join(temp(), 'o', 'trust', 'trusted_root.json'))).toBe(true);
    const bad = spawnSync(process.execPath, [launcher, 'synth', '--env', 'nope'], { cwd: root, env: childEnvironment(), encoding: 'utf8' });
    expect(bad.status).toBe(2);
  });
});
