import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeCloudOutput } from '../../lib/cloud/cloud-output';
import { synth } from '../../lib/synth';
import type { Progress } from '../../lib/progress';
import { minimalCloudConfig, prdExampleConfig } from '../helpers/cloud';
import { copyFixtureState, fixtureConfig, FIXTURE_CLOCK } from '../helpers/fixture-state';
import { runCliCaptured } from '../helpers/cli';
import { readTree } from '../helpers/tree';
import { useTempDirectory } from '../helpers/temp-directory';
import { childEnvironment } from '../helpers/cli-process';

function filesUnder(root: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const [path, entry] of readTree(root)) if (entry.bytes) files.set(path, entry.bytes);
  return files;
}

function recordingProgress(): Progress & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    step: async (label, work) => {
      lines.push(`step: ${label}`);
      return work();
    },
    info: (message) => lines.push(`info: ${message}`),
    warn: (message) => lines.push(`warn: ${message}`),
  };
}

describe('writeCloudOutput', () => {
  const temp = useTempDirectory();

  it('writes the cdktf layout, byte-identical on every run, with no absolute path in it', async () => {
    const first = join(temp(), 'one', 'cdktf.out');
    const second = join(temp(), 'two', 'cdktf.out');
    const result = await writeCloudOutput(first, [prdExampleConfig()]);
    await writeCloudOutput(second, [prdExampleConfig()]);
    expect(result).toEqual({ outDir: first, stacks: ['sigstore-prd'], skipped: [] });
    const files = filesUnder(first);
    expect([...files.keys()].sort()).toEqual(['.sigstore-cdk-output', 'manifest.json', 'stacks/sigstore-prd/cdk.tf.json']);
    expect(filesUnder(second)).toEqual(files);
    for (const [path, bytes] of files) {
      const text = bytes.toString('utf8');
      for (const absolute of [temp(), tmpdir(), homedir(), process.cwd(), __dirname]) expect({ path, hasAbsolute: text.includes(absolute) }).toEqual({ path, hasAbsolute: false });
      expect(text).not.toMatch(/"\/(?:[a-z]+\/)+/); // no string value starting with an absolute path
    }
    expect(statSync(join(first, 'stacks/sigstore-prd/cdk.tf.json')).mode & 0o777).toBe(0o644);
    const manifest = JSON.parse(files.get('manifest.json')!.toString('utf8'));
    expect(manifest.stacks['sigstore-prd']).toMatchObject({ workingDirectory: 'stacks/sigstore-prd', synthesizedStackPath: 'stacks/sigstore-prd/cdk.tf.json', annotations: [] });
    // The manifest names only files that exist (cdktf's stackMetadataPath is written for HCL output only).
    for (const entry of Object.values(manifest.stacks) as Record<string, unknown>[]) {
      for (const [field, value] of Object.entries(entry)) if (field.endsWith('Path')) expect({ field, exists: files.has(value as string) }).toEqual({ field, exists: true });
    }
    expect(manifest.stacks['sigstore-prd']).not.toHaveProperty('stackMetadataPath');
    // No staging directory is left behind.
    expect(readdirSync(join(temp(), 'one'))).toEqual(['cdktf.out']);
  });

  it("replaces a stack's cdk.tf.json in place: tofu's working files and other environments' stacks stay", async () => {
    const outDir = join(temp(), 'cdktf.out');
    await writeCloudOutput(outDir, [minimalCloudConfig('', 'eu-de', 'stg')]);
    await writeCloudOutput(outDir, [prdExampleConfig()]);
    const stackDirectory = join(outDir, 'stacks', 'sigstore-prd');
    mkdirSync(join(stackDirectory, '.terraform'));
    writeFileSync(join(stackDirectory, '.terraform', 'terraform.tfstate'), 'backend working state');
    writeFileSync(join(stackDirectory, '.terraform.lock.hcl'), 'lock');
    const before = readFileSync(join(stackDirectory, 'cdk.tf.json'), 'utf8');

    const changed = prdExampleConfig();
    changed.cloud!.alarms.tsaLatencyMs = 3000;
    await writeCloudOutput(outDir, [changed]);

    const after = readFileSync(join(stackDirectory, 'cdk.tf.json'), 'utf8');
    expect(after).not.toEqual(before);
    expect(JSON.parse(after).resource.opentelekomcloud_ces_alarmrule.tsa_latency_p99.condition.value).toBe(3000);
    expect(readFileSync(join(stackDirectory, '.terraform.lock.hcl'), 'utf8')).toBe('lock');
    expect(readFileSync(join(stackDirectory, '.terraform', 'terraform.tfstate'), 'utf8')).toBe('backend working state');
    expect(existsSync(join(outDir, 'stacks', 'sigstore-stg', 'cdk.tf.json'))).toBe(true);
    expect(Object.keys(JSON.parse(readFileSync(join(outDir, 'manifest.json'), 'utf8')).stacks).sort()).toEqual(['sigstore-prd', 'sigstore-stg']);
  });

  it('leaves the previous output untouched when a stack cannot be built', async () => {
    const outDir = join(temp(), 'cdktf.out');
    await writeCloudOutput(outDir, [prdExampleConfig()]);
    const before = readTree(outDir);
    const broken = prdExampleConfig();
    broken.cloud!.bootstrapBucket.name = 'Not.A.Bucket';
    await expect(writeCloudOutput(outDir, [broken])).rejects.toMatchObject({ code: 'CLOUD_PROPS_INVALID' });
    expect(readTree(outDir)).toEqual(before);
    expect(readdirSync(temp())).toEqual(['cdktf.out']);
  });

  it('writes nothing for environments without a cloud section', async () => {
    const outDir = join(temp(), 'cdktf.out');
    const result = await writeCloudOutput(outDir, [fixtureConfig()]);
    expect(result).toEqual({ outDir, stacks: [], skipped: [{ env: 'test', reason: 'it has no cloud section' }] });
    expect(readdirSync(temp())).toEqual([]);
  });
});

describe('synth with a cloud section', () => {
  const temp = useTempDirectory();

  it('writes the cloud stack next to dist/ and says so', async () => {
    const stateRoot = copyFixtureState(temp());
    const progress = recordingProgress();
    const config = fixtureConfig('otc:\n  region: eu-de\n  kms: { fulcioRootKeyAlias: f-g1, tsaRootKeyAlias: t-g1 }\ncloud:\n  bootstrapBucket: { name: test-sigstore-bootstrap }\n');
    const result = await synth({ config, stateRoot, outDir: join(temp(), 'dist'), cloudOutDir: join(temp(), 'cdktf.out'), clock: FIXTURE_CLOCK, progress });
    expect(result.cloud).toEqual({ outDir: join(temp(), 'cdktf.out'), stacks: ['sigstore-test'], skipped: [] });
    expect(existsSync(join(temp(), 'cdktf.out', 'stacks', 'sigstore-test', 'cdk.tf.json'))).toBe(true);
    expect(progress.lines).toEqual(
      expect.arrayContaining([
        `step: write ${join(temp(), 'cdktf.out')}/stacks/sigstore-test/ (cloud stack)`,
        'warn: cloud: no Fulcio 5xx and TSA latency alarms: cloud.alarms.loadBalancerId is not set',
      ]),
    );
  });

  it('says that an environment without a cloud section gets no stack, and writes no cdktf.out', async () => {
    const stateRoot = copyFixtureState(temp());
    const progress = recordingProgress();
    const result = await synth({ config: fixtureConfig(), stateRoot, outDir: join(temp(), 'dist'), cloudOutDir: join(temp(), 'cdktf.out'), clock: FIXTURE_CLOCK, progress });
    expect(result.cloud.stacks).toEqual([]);
    expect(progress.lines).toContain('info: cloud: no stack for environment "test": it has no cloud section (envs/prd.example.yaml shows one)');
    expect(existsSync(join(temp(), 'cdktf.out'))).toBe(false);
  });

  it('sigstore-cdk synth --cloud-out writes the stack there and names it in its summary', async () => {
    const stateRoot = copyFixtureState(temp());
    mkdirSync(join(temp(), 'envs'));
    writeFileSync(
      join(temp(), 'envs', 'test.yaml'),
      'organization: Test Org\nsigner: local\notc:\n  region: eu-de\n  kms: { fulcioRootKeyAlias: f-g1, tsaRootKeyAlias: t-g1 }\ncloud:\n  bootstrapBucket: { name: test-sigstore-bootstrap }\n',
    );
    const cloudOut = join(temp(), 'tf');
    const run = await runCliCaptured(['synth', '--env', 'test', '--envs-dir', join(temp(), 'envs'), '--state-dir', stateRoot, '--out', join(temp(), 'dist'), '--cloud-out', cloudOut, '--json']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).cloud).toEqual({ outDir: cloudOut, stacks: ['sigstore-test'], skipped: [] });
    expect(run.stderr).toContain(`write ${cloudOut}/stacks/sigstore-test/ (cloud stack)`);
    expect(JSON.parse(readFileSync(join(cloudOut, 'stacks', 'sigstore-test', 'cdk.tf.json'), 'utf8')).terraform.backend).toEqual({
      local: { path: '../../../terraform.sigstore-test.tfstate' },
    });
  });
});

describe('bin/cloud.js (the cdktf app, cdktf.json)', () => {
  const temp = useTempDirectory();
  const root = join(__dirname, '..', '..');
  const runApp = (env: NodeJS.ProcessEnv) =>
    spawnSync(process.execPath, [join(root, 'bin', 'cloud.js')], {
      cwd: temp(),
      encoding: 'utf8',
      env: childEnvironment(env),
    });

  it('synthesizes one stack per environment with a cloud section into $CDKTF_OUTDIR', () => {
    mkdirSync(join(temp(), 'envs'));
    copyFileSync(join(root, 'envs', 'prd.example.yaml'), join(temp(), 'envs', 'prd.yaml'));
    copyFileSync(join(root, 'envs', 'dev.yaml'), join(temp(), 'envs', 'dev.yaml'));
    const run = runApp({ SIGSTORE_ENVS_DIR: 'envs', CDKTF_OUTDIR: 'out' });
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('cloud: no stack for environment "dev": it has no cloud section');
    expect(run.stdout).toContain('cloud: wrote out/stacks/sigstore-prd/cdk.tf.json');
    expect(Object.keys(JSON.parse(readFileSync(join(temp(), 'out', 'manifest.json'), 'utf8')).stacks)).toEqual(['sigstore-prd']);
  });

  it('exits 2 naming the file when an environment is invalid', () => {
    mkdirSync(join(temp(), 'envs'));
    writeFileSync(join(temp(), 'envs', 'prd.yaml'), 'organization: x\ncloud:\n  bootstrapBucket: { name: a.b.c }\n');
    const run = runApp({ SIGSTORE_ENVS_DIR: 'envs', CDKTF_OUTDIR: 'out' });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('error [CONFIG_INVALID]: envs/prd.yaml has');
    expect(run.stderr).toContain('cloud.bootstrapBucket.name');
    expect(existsSync(join(temp(), 'out'))).toBe(false);
  });
});
