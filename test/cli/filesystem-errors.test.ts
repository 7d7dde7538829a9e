import { chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  LAUNCHER,
  NOBODY,
  REPO_ROOT,
  canMountInUserNamespace,
  readOnlyMount,
  runCliProcess,
  runProcess,
  runningAsRoot,
  tinyFileSystem,
  type ProcessRun,
} from '../helpers/cli-process';
import { useTempDirectory } from '../helpers/temp-directory';

/**
 * File system errors reach the operator as one line with a stable code, the path, what to do and
 * the documented exit code (2 a bad argument, 3 the state), never as a raw `EROFS …` with exit 1.
 * Real errors, made by real processes: a file where a directory belongs, a read-only bind mount
 * and a full tmpfs in a private user namespace (skipped where the machine forbids those mounts),
 * and a directory the user may not write (as `nobody` when the tests run as root).
 */
const ENVS = join(REPO_ROOT, 'envs');
const MOUNTS = canMountInUserNamespace();
if (!MOUNTS) console.warn('cli/filesystem-errors.test.ts: skipping the EROFS and ENOSPC cases: this machine does not allow `unshare -rm` mounts');

/** The one error line; fails when there is none, several, a stack trace or the "unexpected error" fallback. */
function oneErrorLine(run: ProcessRun): string {
  const lines = run.stderr.split('\n').filter((line) => line.startsWith('error'));
  expect(lines).toHaveLength(1);
  expect(run.stderr).not.toMatch(/\n\s+at |unexpected error/);
  return lines[0];
}

describe('file system errors, as processes', () => {
  const temp = useTempDirectory();
  const synth = (args: string[], options: Partial<Parameters<typeof runCliProcess>[1]> = {}) =>
    runCliProcess(['synth', '--envs-dir', ENVS, '--out', join(temp(), 'dist'), '--cloud-out', join(temp(), 'cdktf.out'), ...args], { cwd: temp(), ...options });

  it('a regular file given as --state-dir is a bad argument: exit 2, naming it', async () => {
    writeFileSync(join(temp(), 'not-a-directory'), 'x');
    const run = await synth(['--state-dir', 'not-a-directory']);
    expect(run.code).toBe(2);
    const line = oneErrorLine(run);
    expect(line).toMatch(/^error \[FS_NOT_A_DIRECTORY\]: /);
    expect(line).toContain('not-a-directory is a file, not a directory: pass a directory as --state-dir');
  });

  (MOUNTS ? it : it.skip)('a full disk (ENOSPC) while the state is written: exit 3, naming the state, and the state is not half-written', async () => {
    const small = join(temp(), 'small');
    mkdirSync(small);
    // After the run, in the same mount namespace: list what is left in the state directory.
    const script = `"$0" "$1" synth --envs-dir "$2" --state-dir small/.sigstore --out dist --cloud-out cdktf.out; code=$?; find small -name manifest.json; exit $code`;
    const run = await runProcess('sh', ['-c', script, process.execPath, LAUNCHER, ENVS], { cwd: temp(), wrapper: tinyFileSystem(small, '128k') });
    expect(run.code).toBe(3);
    const line = oneErrorLine(run);
    expect(line).toMatch(/^error \[STATE_NO_SPACE\]: cannot write the state small\/\.sigstore\/dev: no space left on the device/);
    expect(line).toMatch(/free space/i);
    expect(run.stdout).toBe(''); // no manifest: nothing half-committed
  });

  (MOUNTS ? it : it.skip)('under a read-only parent: a state directory that cannot be created says read-only, not ENOENT', async () => {
    const readOnly = join(temp(), 'ro');
    mkdirSync(readOnly);
    const run = await synth(['--state-dir', join(readOnly, 'new', '.sigstore')], { wrapper: readOnlyMount(readOnly) });
    expect(run.code).toBe(3);
    expect(oneErrorLine(run)).toMatch(new RegExp(`^error \\[STATE_READ_ONLY\\]: cannot lock the state ${readOnly}/new/\\.sigstore/dev: read-only file system \\(EROFS at ${readOnly}\\)`));
  });

  it('an output directory the user may not write: exit 2, naming it and what to do', async () => {
    const locked = join(temp(), 'locked');
    mkdirSync(locked, { mode: 0o555 });
    const asNobody = runningAsRoot();
    if (asNobody) chownSync(temp(), NOBODY, NOBODY);
    const run = await runCliProcess(['synth', '--envs-dir', ENVS, '--state-dir', '.sigstore', '--out', join(locked, 'dist'), '--cloud-out', 'cdktf.out'], {
      cwd: temp(),
      ...(asNobody ? { uid: NOBODY, gid: NOBODY, env: { HOME: temp() } } : {}),
    });
    expect(run.code).toBe(2);
    const line = oneErrorLine(run);
    expect(line).toMatch(new RegExp(`^error \\[FS_PERMISSION_DENIED\\]: cannot write the output ${locked}/dist: permission denied`));
    expect(line).toContain('--out');
  });
});
