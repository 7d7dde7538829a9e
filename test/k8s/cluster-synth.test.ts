import 'reflect-metadata';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { StateError } from '../../lib/errors';
import { PUBLIC_MANIFEST_FILE, SECRETS_MANIFEST_FILE } from '../../lib/k8s/cluster-manifests';
import { OUTPUT_MARKER_FILE } from '../../lib/output/output-directory';
import { bootstrap } from '../../lib/pki/bootstrap';
import { LocalRootKeys } from '../../lib/pki/root-keys';
import { StateStore } from '../../lib/state/store';
import { synth, synthFromState } from '../../lib/synth';
import { configFromYaml } from '../helpers/config';
import { FIXTURE_CLOCK, copyFixtureState, fixtureConfig } from '../helpers/fixture-state';
import { useTempDirectory } from '../helpers/temp-directory';
import { find, parseManifest } from './cluster-fixture';
import { childEnvironment } from '../helpers/cli-process';

/* eslint-disable @typescript-eslint/no-explicit-any */

/** A state with the PKI only (minted before the TUF repository and the service passwords existed). */
async function pkiOnlyState(stateRoot: string): Promise<string> {
  await bootstrap({ config: fixtureConfig(), store: new StateStore({ root: stateRoot, env: 'test' }), rootKeys: new LocalRootKeys(), clock: FIXTURE_CLOCK });
  return stateRoot;
}

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
    expect(result.minted).toEqual([]);
    const files = tree(outDir);
    expect([...files.keys()].filter((path) => !path.startsWith('trust/tuf/')).sort()).toEqual(
      [OUTPUT_MARKER_FILE, PUBLIC_MANIFEST_FILE, SECRETS_MANIFEST_FILE, 'trust/ctlog.pub', 'trust/fulcio-chain.pem', 'trust/rekor.pub', 'trust/trusted_root.json', 'trust/tsa-chain.pem'].sort(),
    );
    for (const [path, { mode }] of files) expect([path, mode.toString(8)]).toEqual([path, path === SECRETS_MANIFEST_FILE ? '600' : '644']);
    expect((statSync(outDir).mode & 0o777).toString(8)).toBe('755');
    // The Secrets manifest sorts after the public one, whose first object is the Namespace.
    expect([PUBLIC_MANIFEST_FILE, SECRETS_MANIFEST_FILE].sort()).toEqual([PUBLIC_MANIFEST_FILE, SECRETS_MANIFEST_FILE]);
    expect(files.get(PUBLIC_MANIFEST_FILE)!.content.toString('utf8')).toMatch(/^apiVersion: v1\nkind: Namespace\n/);
    expect(files.get(SECRETS_MANIFEST_FILE)!.content.toString('utf8')).toContain('ENCRYPTED');
  });

  it('the TUF server serves the TUF repository from the state: the same files, at the same paths, as dist/trust/tuf/', async () => {
    const outDir = join(temp(), 'dist');
    await synth({ config: fixtureConfig(), stateRoot: copyFixtureState(temp()), outDir, clock: FIXTURE_CLOCK });
    const published = new Map(
      [...tree(join(outDir, 'trust', 'tuf'))].map(([path, { content }]) => [path, content.toString('utf8')]),
    );
    expect([...published.keys()]).toEqual(expect.arrayContaining(['1.root.json', 'root.json', 'timestamp.json']));
    expect([...published.keys()].some((path) => path.startsWith('targets/'))).toBe(true);
    const objects = parseManifest(readFileSync(join(outDir, PUBLIC_MANIFEST_FILE), 'utf8')) as any[];
    const configMap = find(objects, 'ConfigMap', 'tuf-repository');
    const deployment = find(objects, 'Deployment', 'tuf');
    const items: { key: string; path: string }[] = deployment.spec.template.spec.volumes[0].configMap.items;
    expect(new Map(items.map((item) => [item.path, configMap.data[item.key]]))).toEqual(published);
    expect(deployment.spec.template.spec.containers[0].readinessProbe.httpGet.path).toBe('/timestamp.json');
  });

  it('two synths give identical bytes, and the cdk8s app (read-only) gives the same bytes again', async () => {
    const stateRoot = copyFixtureState(temp());
    const config = fixtureConfig();
    await synth({ config, stateRoot, outDir: join(temp(), 'first'), clock: FIXTURE_CLOCK });
    const second = await synth({ config, stateRoot, outDir: join(temp(), 'second'), clock: FIXTURE_CLOCK });
    expect(second.minted).toEqual([]);
    expect(second.stateWritten).toBe(false);
    expect(readFileSync(join(temp(), 'first', SECRETS_MANIFEST_FILE))).toEqual(readFileSync(join(temp(), 'second', SECRETS_MANIFEST_FILE)));
    const manifest = readFileSync(join(stateRoot, 'test', 'manifest.json'));
    await synthFromState({ config, stateRoot, outDir: join(temp(), 'cdk8s') });
    expect(readFileSync(join(stateRoot, 'test', 'manifest.json'))).toEqual(manifest);
    const first = tree(join(temp(), 'first'));
    expect(tree(join(temp(), 'second'))).toEqual(first);
    expect(tree(join(temp(), 'cdk8s'))).toEqual(first);
  });

  it('bin/k8s.js (what cdk8s.yaml runs) writes the same files to SIGSTORE_OUT_DIR', async () => {
    const stateRoot = copyFixtureState(temp());
    await synth({ config: fixtureConfig(), stateRoot, outDir: join(temp(), 'synth'), clock: FIXTURE_CLOCK });
    const envsDir = join(temp(), 'envs');
    mkdirSync(envsDir);
    writeFileSync(join(envsDir, 'test.yaml'), 'organization: Test Org\nsigner: local\n');
    const root = join(__dirname, '..', '..');
    const result = spawnSync(process.execPath, [join(root, 'bin', 'k8s.js')], {
      cwd: temp(),
      encoding: 'utf8',
      env: childEnvironment({ SIGSTORE_ENV: 'test', SIGSTORE_ENVS_DIR: envsDir, SIGSTORE_STATE_DIR: stateRoot, SIGSTORE_OUT_DIR: join(temp(), 'app') }),
    });
    expect(result.stderr).toMatch(/wrote \d+ files for environment "test" to /);
    expect(result.status).toBe(0);
    expect(tree(join(temp(), 'app'))).toEqual(tree(join(temp(), 'synth')));
  });

  it('the cdk8s app never mints: a missing state or missing passwords name the command to run', async () => {
    const config = fixtureConfig();
    const missing = synthFromState({ config, stateRoot: join(temp(), 'none'), outDir: join(temp(), 'out') });
    await expect(missing).rejects.toThrow(StateError);
    await expect(missing).rejects.toThrow(/does not exist or is empty; cdk8s synth only reads the state: run "npm run synth -- --env test" first/);
    const withoutPasswords = synthFromState({ config, stateRoot: await pkiOnlyState(join(temp(), 'pki-only')), outDir: join(temp(), 'out') });
    await expect(withoutPasswords).rejects.toThrow(
      /lacks the TUF repository, service-passwords \(the MySQL and Redis passwords\); cdk8s synth only reads the state: run "npm run synth -- --env test" first/,
    );
  });

  it('with a KMS signer, synth does not mint the passwords either: it asks for bootstrap', async () => {
    const config = configFromYaml(
      'organization: Test Org\nsigner: otc-kms\notc:\n  region: eu-de\n  kms: { fulcioRootKeyAlias: f-root-g1, tsaRootKeyAlias: t-root-g1, tufRootKeyAlias: tuf-root-g1 }\n',
    );
    await expect(synth({ config, stateRoot: await pkiOnlyState(join(temp(), 'pki-only')), outDir: join(temp(), 'out') })).rejects.toThrow(
      /lacks the TUF repository, service-passwords \(the MySQL and Redis passwords\)\. .*run "sigstore-cdk bootstrap --env test" first/,
    );
  });
});
