import { copyFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { runCliProcess, runProcess } from '../helpers/cli-process';
import { dropItems } from '../helpers/state-tampering';
import { REPO_ROOT, makeTempProject } from '../helpers/temp-project';
import { useTempDirectory } from '../helpers/temp-directory';

/* eslint-disable @typescript-eslint/no-explicit-any */

/*
 * The README's "Tile-based logs" commands, run as a user runs them: the CLI as a process in a copy
 * of the project, with the example environment copied to envs/tiles.yaml.
 */
describe('tile-based logs through the CLI', () => {
  const temp = useTempDirectory('sigstore-cdk-tiles-cli-');

  it('cp envs/tiles.example.yaml envs/tiles.yaml; synth --env tiles; verify --env tiles --offline', async () => {
    const project = makeTempProject(temp());
    copyFileSync(join(REPO_ROOT, 'envs', 'tiles.example.yaml'), join(project, 'envs', 'tiles.yaml'));
    const synth = await runCliProcess(['synth', '--env', 'tiles', '--json'], { cwd: project, timeoutMs: 120_000 });
    expect(synth.stderr).not.toMatch(/error \[/);
    expect(synth.code).toBe(0);
    expect(JSON.parse(synth.stdout).minted).toEqual(expect.arrayContaining(['rekor-v2-key', 'tesseract-key', 'rekor-key', 'ctlog-key']));

    // The keys are in the state, encrypted, 0600.
    const state = join(project, '.sigstore', 'tiles');
    for (const file of ['rekor-v2/private.key.pem', 'tesseract/private.key.pem', 'rekor-v2/private.key.password']) {
      expect(statSync(join(state, file)).mode & 0o777).toBe(0o600);
    }
    expect(readFileSync(join(state, 'rekor-v2/private.key.pem'), 'utf8')).toMatch(/^-----BEGIN ENCRYPTED PRIVATE KEY-----/);

    // No Trillian, MySQL or Redis in the manifests; the tile-based logs with their volumes.
    const objects = parseAllDocuments(readFileSync(join(project, 'dist', 'sigstore.k8s.yaml'), 'utf8')).map((document) => document.toJS() as any);
    const deployments = objects.filter((object) => object.kind === 'Deployment').map((object) => object.metadata.name).sort();
    expect(deployments).toEqual(['ctlog', 'fulcio', 'rekor', 'tsa', 'tuf']);
    expect(objects.filter((object) => object.kind === 'PersistentVolumeClaim').map((object) => object.metadata.name).sort()).toEqual(['rekor-tiles-storage', 'tesseract-storage']);
    const rekorArgs = objects.find((object) => object.kind === 'Deployment' && object.metadata.name === 'rekor').spec.template.spec.containers[0].args;
    expect(rekorArgs).toContain('--hostname=rekor.example.com');

    const trustedRoot = JSON.parse(readFileSync(join(project, 'dist', 'trust', 'trusted_root.json'), 'utf8'));
    expect(trustedRoot.tlogs.map((log: any) => [log.baseUrl, log.publicKey.keyDetails])).toEqual([['https://rekor.example.com', 'PKIX_ED25519']]);
    expect(trustedRoot.ctlogs.map((log: any) => log.baseUrl)).toEqual(['https://ctlog.example.com/sigstore']);
    // rekor.pub is the key the environment's Rekor signs with.
    expect(readFileSync(join(project, 'dist', 'trust', 'rekor.pub'), 'utf8')).toBe(readFileSync(join(state, 'rekor-v2/public.pem'), 'utf8'));

    const verify = await runCliProcess(['verify', '--env', 'tiles', '--offline'], { cwd: project });
    expect(verify.stderr).not.toMatch(/error \[/);
    expect(verify.code).toBe(0);

    // The cdk8s app (what `npx cdk8s synth` runs) builds the same manifests from the state, read only.
    const app = await runProcess(process.execPath, [join(REPO_ROOT, 'bin', 'k8s.js')], {
      cwd: project,
      env: { SIGSTORE_ENV: 'tiles', SIGSTORE_OUT_DIR: 'dist-cdk8s', CDK8S_CHECK_UPGRADE: 'false' },
      timeoutMs: 120_000,
    });
    expect(app.stderr).not.toMatch(/error \[/);
    expect(app.code).toBe(0);
    for (const file of ['sigstore.k8s.yaml', 'sigstore.secrets.k8s.yaml', 'trust/trusted_root.json']) {
      expect(readFileSync(join(project, 'dist-cdk8s', file), 'utf8')).toBe(readFileSync(join(project, 'dist', file), 'utf8'));
    }

    // A second synth mints nothing and leaves the state as it was.
    const manifest = readFileSync(join(state, 'manifest.json'));
    const again = await runCliProcess(['synth', '--env', 'tiles', '--json'], { cwd: project, timeoutMs: 120_000 });
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout).minted).toEqual([]);
    expect(readFileSync(join(state, 'manifest.json'))).toEqual(manifest);

    // Back to Rekor v1 after publishing would publish another Rekor key: refused, nothing written.
    const tilesYaml = readFileSync(join(project, 'envs', 'tiles.yaml'), 'utf8');
    writeFileSync(join(project, 'envs', 'tiles.yaml'), tilesYaml.replace(/^  rekor: v2 .*$/m, '  rekor: v1'));
    const back = await runCliProcess(['synth', '--env', 'tiles'], { cwd: project, timeoutMs: 120_000 });
    expect(back.code).toBe(3);
    expect(back.stderr).toMatch(/error \[STATE_PUBLISHED_TRUST_REPLACED\]/);
    expect(readFileSync(join(state, 'manifest.json'))).toEqual(manifest);
  }, 240_000);

  it('refuses to switch a published Rekor v1 environment to Rekor v2 (a migration), writing nothing', async () => {
    const project = makeTempProject(temp(), { fixtureState: true, testEnvYaml: 'logs: { rekor: v2 }\n' });
    const manifest = readFileSync(join(project, '.sigstore', 'test', 'manifest.json'));
    const run = await runCliProcess(['synth', '--env', 'test'], { cwd: project, timeoutMs: 120_000 });
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/error \[STATE_LOG_SWITCH_UNSUPPORTED\]: state .* published Rekor v1, but logs\.rekor "v2" selects a tile-based log\. .*migration/);
    expect(readFileSync(join(project, '.sigstore', 'test', 'manifest.json'))).toEqual(manifest);
    expect(() => statSync(join(project, '.sigstore', 'test', 'rekor-v2'))).toThrow();
    expect(() => statSync(join(project, 'dist'))).toThrow();
  }, 120_000);

  it('refuses a published Rekor v2 state that lost its key as corruption, minting nothing', async () => {
    const project = makeTempProject(temp());
    copyFileSync(join(REPO_ROOT, 'envs', 'tiles.example.yaml'), join(project, 'envs', 'tiles.yaml'));
    expect((await runCliProcess(['synth', '--env', 'tiles'], { cwd: project, timeoutMs: 120_000 })).code).toBe(0);
    const state = join(project, '.sigstore', 'tiles');
    dropItems(state, ['rekor-v2-key']);
    const manifest = readFileSync(join(state, 'manifest.json'));
    const run = await runCliProcess(['synth', '--env', 'tiles'], { cwd: project, timeoutMs: 120_000 });
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/error \[STATE_PUBLISHED_ITEMS_MISSING\]: state .* lacks rekor-v2-key, .*whose public key it published\. That is corruption/);
    expect(readFileSync(join(state, 'manifest.json'))).toEqual(manifest);
    expect(() => statSync(join(state, 'rekor-v2', 'private.key.pem'))).toThrow();
  }, 240_000);
});
