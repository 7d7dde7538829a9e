import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeCloudOutput } from '../../lib/cloud/cloud-output';
import { synth } from '../../lib/synth';
import type { Progress } from '../../lib/progress';
import { minimalCloudConfig, prdExampleConfig } from '../helpers/cloud';
import { copyFixtureState, fixtureConfig, FIXTURE_CLOCK } from '../helpers/fixture-state';
import { readTree } from '../helpers/tree';
import { useTempDirectory } from '../helpers/temp-directory';

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
    expect([...files.keys()].sort()).toEqual(['manifest.json', 'stacks/sigstore-prd/cdk.tf.json']);
    expect(filesUnder(second)).toEqual(files);
    for (const [path, bytes] of files) {
      const text = bytes.toString('utf8');
      for (const absolute of [temp(), tmpdir(), homedir(), process.cwd(), __dirname]) expect({ path, hasAbsolute: text.includes(absolute) }).toEqual({ path, hasAbsolute: false });
      expect(text).not.toMatch(/"\/(?:[a-z]+\/)+/); // no string value starting with an absolute path
    }
    expect(statSync(join(first, 'stacks/sigstore-prd/cdk.tf.json')).mode & 0o777).toBe(0o644);
    const manifest = JSON.parse(files.get('manifest.json')!.toString('utf8'));
    expect(manifest.stacks['sigstore-prd']).toMatchObject({ workingDirectory: 'stacks/sigstore-prd', synthesizedStackPath: 'stacks/sigstore-prd/cdk.tf.json', annotations: [] });
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
});
