import { chmodSync, lstatSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { outputDirectoryIsCurrent } from '../../lib/output/current-output';
import { OUTPUT_MARKER_FILE } from '../../lib/output/output-directory';
import { writeOutputDirectory, type OutputTarget } from '../../lib/synth';
import type { OutputFile } from '../../lib/trust/trust-outputs';
import { useTempDirectory } from '../helpers/temp-directory';

/**
 * A synth whose output equals what dist/ already holds leaves dist/ alone (same inodes, same times:
 * `kubectl diff`, rsync and file watchers see no change, and the run only reads); anything that
 * differs — an edited or emptied file, a changed mode, a link inside — replaces it as before (files
 * sigstore-cdk did not write are refused before that, see output-directory.test.ts).
 */
const FILES: OutputFile[] = [
  { path: 'sigstore.k8s.yaml', content: 'kind: ConfigMap\n' },
  { path: 'sigstore.secrets.k8s.yaml', content: 'kind: Secret\n', mode: 0o600 },
  { path: 'trust/tuf/1.root.json', content: '{"signed":{}}\n' },
];

describe('writeOutputDirectory with an output that is already current', () => {
  const temp = useTempDirectory();
  const target = (): OutputTarget => ({ path: join(temp(), 'dist'), label: '--out', protect: { stateRoot: join(temp(), '.sigstore') } });
  const identity = (path: string) => {
    const stat = lstatSync(path);
    return { ino: stat.ino, mtimeMs: stat.mtimeMs };
  };

  it('keeps the directory and every file (inode and time) when nothing differs', async () => {
    await writeOutputDirectory(target(), FILES);
    const dist = join(temp(), 'dist');
    const before = [dist, ...FILES.map((file) => join(dist, file.path))].map(identity);
    await writeOutputDirectory(target(), FILES);
    expect([dist, ...FILES.map((file) => join(dist, file.path))].map(identity)).toEqual(before);
  });

  it.each([
    ['an edited file', (dist: string) => writeFileSync(join(dist, 'sigstore.k8s.yaml'), 'kind: Edited\n')],
    ['a deleted file', (dist: string) => rmSync(join(dist, 'trust/tuf/1.root.json'))],
    ['an emptied file', (dist: string) => writeFileSync(join(dist, 'trust/tuf/1.root.json'), '')],
    ['a widened mode', (dist: string) => chmodSync(join(dist, 'sigstore.secrets.k8s.yaml'), 0o644)],
    ['a changed directory mode', (dist: string) => chmodSync(join(dist, 'trust'), 0o700)],
    ['a symbolic link in place of a file', (dist: string) => {
      // Same bytes, but through a link to a file outside the output.
      writeFileSync(join(dist, '..', 'elsewhere'), 'kind: ConfigMap\n');
      const path = join(dist, 'sigstore.k8s.yaml');
      rmSync(path);
      symlinkSync(join(dist, '..', 'elsewhere'), path);
    }],
  ])('replaces the directory after %s, restoring exactly the files', async (_, change) => {
    await writeOutputDirectory(target(), FILES);
    const dist = join(temp(), 'dist');
    const inode = lstatSync(dist).ino;
    change(dist);
    await writeOutputDirectory(target(), FILES);
    expect(lstatSync(dist).ino).not.toBe(inode);
    for (const file of FILES) {
      expect(lstatSync(join(dist, file.path)).isFile()).toBe(true);
      expect(readFileSync(join(dist, file.path), 'utf8')).toBe(file.content);
      expect(statSync(join(dist, file.path)).mode & 0o777).toBe(file.mode ?? 0o644);
    }
    expect(statSync(join(dist, 'trust')).mode & 0o777).toBe(0o755);
  });

  it('writes a missing directory, and answers false for it and for one that cannot be read', async () => {
    const dist = join(temp(), 'dist');
    const expected = FILES.map((file) => ({ path: file.path, content: file.content, mode: file.mode ?? 0o644 }));
    expect(await outputDirectoryIsCurrent(dist, expected, 0o755)).toBe(false);
    await writeOutputDirectory(target(), FILES);
    const withMarker = [...expected, { path: OUTPUT_MARKER_FILE, content: readFileSync(join(dist, OUTPUT_MARKER_FILE)), mode: 0o644 }];
    expect(await outputDirectoryIsCurrent(dist, withMarker, 0o755)).toBe(true);
    expect(await outputDirectoryIsCurrent(dist, expected, 0o755)).toBe(false); // the marker is an extra file here
    mkdirSync(join(temp(), 'not-a-dir-parent'));
    writeFileSync(join(temp(), 'not-a-dir-parent', 'file'), 'x');
    expect(await outputDirectoryIsCurrent(join(temp(), 'not-a-dir-parent', 'file'), expected, 0o755)).toBe(false);
  });
});
