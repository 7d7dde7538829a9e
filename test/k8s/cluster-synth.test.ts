import 'reflect-metadata';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { StateError } from '../../lib/errors';
import { PUBLIC_MANIFEST_FILE, SECRETS_MANIFEST_FILE } from '../../lib/k8s/cluster-manifests';
import { SERVICE_PASSWORDS_ITEM } from '../../lib/k8s/service-passwords';
import { synth, synthFromState } from '../../lib/synth';
import { configFromYaml } from '../helpers/config';
import { FIXTURE_CLOCK, copyFixtureState, fixtureConfig } from '../helpers/fixture-state';
import { useTempDirectory } from '../helpers/temp-directory';

/** Every file under `directory`: relative path → { bytes, mode }. */
function tree(directory: string): Map<string, { content: Buffer; mode: number }> {
  const files = new Map<string, { content: Buffer; mode: number }>();
  const walk = (path: string) => {
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const full = join(path, entry.name);
      if (entry.isDirectory()) walk(full);
      else files.set(relative(directory, full), { content: readFileSync(full), mode: statSync(full).mode & 0o777 });
    }
  };
  walk(directory);
  return files;
}

describe('synth writes the cluster manifests with the trust outputs', () => {
  const temp = useTempDirectory();

  it('one atomic dist/: public files 0644, the Secrets manifest 0600, the trust files in dist/trust/', async () => {
    const stateRoot = copyFixtureState(temp());
    const outDir = join(temp(), 'dist');
    const result = await synth({ config: fixtureConfig(), stateRoot, outDir, clock: FIXTURE_CLOCK });
    // The fixture state predates the service passwords: synth (local signer) mints them, nothing else.
    expect(result.minted).toEqual([SERVICE_PASSWORDS_ITEM.id]);
    const files = tree(outDir);
    expect([...files.keys()].sort()).toEqual(
      [PUBLIC_MANIFEST_FILE, SECRETS_MANIFEST_FILE, 'trust/ctlog.pub', 'trust/fulcio-chain.pem', 'trust/rekor.pub', 'trust/trusted_root.json', 'trust/tsa-chain.pem'].sort(),
    );
    for (const [path, { mode }] of files) expect([path, mode.toString(8)]).toEqual([path, path === SECRETS_MANIFEST_FILE ? '600' : '644']);
    expect((statSync(outDir).mode & 0o777).toString(8)).toBe('755');
    // The Secrets manifest sorts after the public one, whose first object is the Namespace.
    expect([PUBLIC_MANIFEST_FILE, SECRETS_MANIFEST_FILE].sort()).toEqual([PUBLIC_MANIFEST_FILE, SECRETS_MANIFEST_FILE]);
    expect(files.get(PUBLIC_MANIFEST_FILE)!.content.toString('utf8')).toMatch(/^apiVersion: v1\nkind: Namespace\n/);
    expect(files.get(SECRETS_MANIFEST_FILE)!.content.toString('utf8')).toContain('ENCRYPTED');
  });

  it('two synths give identical bytes, and the cdk8s app (read-only) gives the same bytes again', async () => {
    const stateRoot = copyFixtureState(temp());
    const config = fixtureConfig();
    await synth({ config, stateRoot, outDir: join(temp(), 'first'), clock: FIXTURE_CLOCK });
    const second = await synth({ config, stateRoot, outDir: join(temp(), 'second'), clock: FIXTURE_CLOCK });
    expect(second.minted).toEqual([]);
    expect(second.stateWritten).toBe(false);
    const manifest = readFileSync(join(stateRoot, 'test', 'manifest.json'));
    await synthFromState({ config, stateRoot, outDir: join(temp(), 'cdk8s') });
    expect(readFileSync(join(stateRoot, 'test', 'manifest.json'))).toEqual(manifest);
    const first = tree(join(temp(), 'first'));
    expect(tree(join(temp(), 'second'))).toEqual(first);
    expect(tree(join(temp(), 'cdk8s'))).toEqual(first);
  });

  it('bin/k8s.js (what cdk8s.yaml runs) writes the same files to CDK8S_OUTDIR', async () => {
    const stateRoot = copyFixtureState(temp());
    await synth({ config: fixtureConfig(), stateRoot, outDir: join(temp(), 'synth'), clock: FIXTURE_CLOCK });
    const envsDir = join(temp(), 'envs');
    mkdirSync(envsDir);
    writeFileSync(join(envsDir, 'test.yaml'), 'organization: Test Org\nsigner: local\n');
    const root = join(__dirname, '..', '..');
    const result = spawnSync(process.execPath, [join(root, 'bin', 'k8s.js')], {
      cwd: temp(),
      encoding: 'utf8',
      env: { ...process.env, SIGSTORE_ENV: 'test', SIGSTORE_ENVS_DIR: envsDir, SIGSTORE_STATE_DIR: stateRoot, CDK8S_OUTDIR: join(temp(), 'app') },
    });
    expect(result.stderr).toContain('wrote 7 files for environment "test"');
    expect(result.status).toBe(0);
    expect(tree(join(temp(), 'app'))).toEqual(tree(join(temp(), 'synth')));
  });

  it('the cdk8s app never mints: a missing state or missing passwords name the command to run', async () => {
    const config = fixtureConfig();
    const missing = synthFromState({ config, stateRoot: join(temp(), 'none'), outDir: join(temp(), 'out') });
    await expect(missing).rejects.toThrow(StateError);
    await expect(missing).rejects.toThrow(/does not exist or is empty; cdk8s synth only reads the state: run "npm run synth -- --env test" first/);
    const withoutPasswords = synthFromState({ config, stateRoot: copyFixtureState(temp()), outDir: join(temp(), 'out') });
    await expect(withoutPasswords).rejects.toThrow(/lacks service-passwords \(the MySQL and Redis passwords\); run "sigstore-cdk bootstrap --env test"/);
  });

  it('with a KMS signer, synth does not mint the passwords either: it asks for bootstrap', async () => {
    const config = configFromYaml(
      'organization: Test Org\nsigner: otc-kms\notc:\n  region: eu-de\n  kms: { fulcioRootKeyAlias: f-root-g1, tsaRootKeyAlias: t-root-g1 }\n',
    );
    await expect(synth({ config, stateRoot: copyFixtureState(temp()), outDir: join(temp(), 'out') })).rejects.toThrow(/lacks service-passwords.*bootstrap/);
  });
});
