import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OutputError } from '../../lib/errors';
import { checkOutputDirectory, isLegacyDistFile, OUTPUT_MARKER_FILE, type OutputKind, type ProtectedPaths } from '../../lib/output/output-directory';
import { synth } from '../../lib/synth';
import { FIXTURE_CLOCK, copyFixtureState, fixtureConfig } from '../helpers/fixture-state';
import { snapshotTree } from '../helpers/snapshot';
import { useTempDirectory } from '../helpers/temp-directory';

describe('checkOutputDirectory: only absent, empty or sigstore-cdk output directories', () => {
  const temp = useTempDirectory();
  const protect = (): ProtectedPaths => ({ stateRoot: join(temp(), '.sigstore'), envsDir: join(temp(), 'envs') });
  const check = (path: string, kind: OutputKind = 'trust-and-cluster', extra: Partial<ProtectedPaths> = {}) =>
    checkOutputDirectory({ path, kind, label: '--out', protect: { ...protect(), ...extra } });
  /** A complete dist/ and cdktf.out/ from a real synth of the fixture state. */
  const synthesized = async () => {
    const stateRoot = copyFixtureState(temp());
    const outDir = join(temp(), 'dist');
    const result = await synth({ config: fixtureConfig(), stateRoot, outDir, cloudOutDir: join(temp(), 'cdktf.out'), clock: FIXTURE_CLOCK });
    return { stateRoot, outDir, files: result.files };
  };

  it('accepts an absent or empty directory, and its own output with its marker', async () => {
    await expect(check(join(temp(), 'new', 'dist'))).resolves.toBe(join(temp(), 'new', 'dist'));
    mkdirSync(join(temp(), 'empty'));
    await expect(check(join(temp(), 'empty'))).resolves.toBe(join(temp(), 'empty'));
    const { outDir, files } = await synthesized();
    expect(JSON.parse(readFileSync(join(outDir, OUTPUT_MARKER_FILE), 'utf8'))).toMatchObject({ writtenBy: 'sigstore-cdk', kind: 'trust-and-cluster', files: [...files].sort() });
    await expect(check(outDir)).resolves.toBe(outDir);
  });

  it('refuses its own output once a file it did not write is in it, names the file, and synth changes nothing', async () => {
    const { stateRoot, outDir } = await synthesized();
    writeFileSync(join(outDir, 'trust', 'notes.txt'), 'mine');
    const before = snapshotTree(outDir);
    await expect(check(outDir)).rejects.toThrow(/--out ".*dist" \(.*\) holds files sigstore-cdk did not write \(trust\/notes\.txt\), beside its \.sigstore-cdk-output marker; nothing was changed/);
    await expect(synth({ config: fixtureConfig(), stateRoot, outDir, cloudOutDir: join(temp(), 'cdktf.out'), clock: FIXTURE_CLOCK })).rejects.toMatchObject({
      code: 'OUTPUT_DIR_FOREIGN',
      exitCode: 2,
    });
    expect(snapshotTree(outDir)).toEqual(before);
  });

  it('takes over a dist/ an older version wrote (no marker) when every file is one synth writes; refuses one with anything else', async () => {
    const { stateRoot, outDir, files } = await synthesized();
    for (const file of files) expect([file, isLegacyDistFile(file)]).toEqual([file, true]);
    rmSync(join(outDir, OUTPUT_MARKER_FILE));
    await expect(check(outDir)).resolves.toBe(outDir);
    writeFileSync(join(outDir, 'kustomization.yaml'), 'resources: []\n');
    await expect(check(outDir)).rejects.toThrow(/holds files sigstore-cdk did not write \(kustomization\.yaml\) and no \.sigstore-cdk-output marker/);
    rmSync(join(outDir, 'kustomization.yaml'));
    await synth({ config: fixtureConfig(), stateRoot, outDir, cloudOutDir: join(temp(), 'cdktf.out'), clock: FIXTURE_CLOCK });
    expect(readFileSync(join(outDir, OUTPUT_MARKER_FILE), 'utf8')).toContain('"kind": "trust-and-cluster"');
  });

  it('refuses the other kind of output, a file, and two outputs that overlap', async () => {
    const cloudOut = join(temp(), 'cdktf.out');
    mkdirSync(cloudOut);
    writeFileSync(join(cloudOut, OUTPUT_MARKER_FILE), JSON.stringify({ writtenBy: 'sigstore-cdk', kind: 'cloud-stacks' }));
    await expect(check(cloudOut)).rejects.toThrow(/holds another kind of sigstore-cdk output \(cloud-stacks, not trust-and-cluster\)/);
    await expect(check(cloudOut, 'cloud-stacks')).resolves.toBe(cloudOut);
    writeFileSync(join(temp(), 'file'), '');
    await expect(check(join(temp(), 'file'))).rejects.toThrow(/is not a directory/);
    await expect(check(join(temp(), 'out'), 'trust-and-cluster', { otherOutputs: [{ label: '--cloud-out', path: join(temp(), 'out', 'tf') }] })).rejects.toThrow(
      /overlaps --cloud-out ".*out\/tf"/,
    );
  });

  it('takes over a cdktf.out an older version or cdktf wrote (manifest.json and stacks/), not a directory with another manifest.json', async () => {
    const cloudOut = join(temp(), 'cdktf.out');
    mkdirSync(join(cloudOut, 'stacks', 'sigstore-prd', '.terraform'), { recursive: true });
    writeFileSync(join(cloudOut, 'manifest.json'), JSON.stringify({ version: '0.21.0', stacks: {} }));
    await expect(check(cloudOut, 'cloud-stacks')).resolves.toBe(cloudOut);
    writeFileSync(join(cloudOut, 'manifest.json'), JSON.stringify({ env: 'dev', items: {} }));
    await expect(check(cloudOut, 'cloud-stacks')).rejects.toThrow(/holds files sigstore-cdk did not write \(manifest\.json\)/);
  });

  it('resolves symbolic links and relative paths before it compares: a link to the state is the state', async () => {
    mkdirSync(join(temp(), '.sigstore', 'dev'), { recursive: true });
    symlinkSync(join(temp(), '.sigstore', 'dev'), join(temp(), 'innocent'));
    await expect(check(join(temp(), 'innocent'))).rejects.toThrow(/lies inside the state \(--state-dir\)/);
    await expect(check(join(temp(), 'envs', '..', '.sigstore'))).rejects.toMatchObject({ code: 'OUTPUT_DIR_PROTECTED' });
    await expect(check(temp())).rejects.toThrow(/holds the state \(--state-dir\)/);
    symlinkSync(join(temp(), 'nowhere'), join(temp(), 'dangling'));
    // A link to a path that does not exist yet is written through, as the state is (the link stays).
    await expect(check(join(temp(), 'dangling'))).resolves.toBe(join(temp(), 'nowhere'));
    // Through a link to a directory of its own, the real directory is what synth writes.
    mkdirSync(join(temp(), 'real-dist'));
    symlinkSync(join(temp(), 'real-dist'), join(temp(), 'dist-link'));
    await expect(check(join(temp(), 'dist-link'))).resolves.toBe(join(temp(), 'real-dist'));
  });

  it('refuses the working directory and everything above it', async () => {
    await expect(check('.')).rejects.toThrow(/is the project root/);
    await expect(check('..')).rejects.toThrow(/lies above the project root/);
    await expect(check('/')).rejects.toBeInstanceOf(OutputError);
  });
});
