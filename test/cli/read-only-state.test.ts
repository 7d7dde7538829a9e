import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  NOBODY,
  REPO_ROOT,
  canMountInUserNamespace,
  readOnlyMount,
  runCliProcess,
  runningAsRoot,
  type ProcessOptions,
  type ProcessRun,
} from '../helpers/cli-process';
import { runCliCaptured } from '../helpers/cli';
import { useTempDirectory } from '../helpers/temp-directory';

/**
 * `verify` and a `synth` that mints nothing only read the state: they must work when the state
 * directory cannot be written, and a run that must write says so in one line, exit 3.
 * Two techniques, each as real processes: a read-only bind mount in a private user namespace
 * (EROFS, works for root too), and chmod a-w with the process running as a user chmod restricts
 * (EACCES: as `nobody` when the tests run as root, since root ignores file modes).
 */
const ENVS = join(REPO_ROOT, 'envs');
const MOUNTS = canMountInUserNamespace();
if (!MOUNTS) console.warn('read-only-state.test.ts: skipping the read-only mount test: this machine does not allow `unshare -rm` mounts');

function errorLines(run: ProcessRun): string[] {
  return run.stderr.split('\n').filter((line) => line.startsWith('error'));
}

describe('a state directory that cannot be written', () => {
  const temp = useTempDirectory();
  let stateRoot: string;
  let emptyRoot: string;

  beforeEach(async () => {
    stateRoot = join(temp(), '.sigstore');
    const minted = await runCliCaptured(['synth', '--envs-dir', ENVS, '--state-dir', stateRoot, '--out', join(temp(), 'first'), '--cloud-out', join(temp(), 'cdktf.out')]);
    expect(minted.code).toBe(0);
    emptyRoot = join(temp(), 'empty-state');
    mkdirSync(emptyRoot, { mode: 0o700 });
  });

  /** verify and a warm synth succeed; a cold synth on an empty, unwritable state root exits 3 with `code`. */
  async function expectReadOnlyWorks(options: (root: string) => ProcessOptions, code: string): Promise<void> {
    const before = listing(stateRoot);
    const [verify, warm, cold] = await Promise.all([
      runCliProcess(['verify', '--envs-dir', ENVS, '--state-dir', stateRoot], options(stateRoot)),
      runCliProcess(['synth', '--envs-dir', ENVS, '--state-dir', stateRoot, '--out', join(temp(), 'dist'), '--cloud-out', join(temp(), 'cdktf.out')], options(stateRoot)),
      runCliProcess(['synth', '--envs-dir', ENVS, '--state-dir', emptyRoot, '--out', join(temp(), 'dist-cold'), '--cloud-out', join(temp(), 'cdktf.out')], options(emptyRoot)),
    ]);
    expect({ code: verify.code, errors: errorLines(verify) }).toEqual({ code: 0, errors: [] });
    expect(verify.stderr).toContain('environment "dev" verified');
    expect({ code: warm.code, errors: errorLines(warm) }).toEqual({ code: 0, errors: [] });
    expect(warm.stderr).toContain('state complete, nothing minted');
    expect(readFileSync(join(temp(), 'dist', 'trust', 'trusted_root.json'), 'utf8')).toBe(readFileSync(join(temp(), 'first', 'trust', 'trusted_root.json'), 'utf8'));
    expect(listing(stateRoot)).toEqual(before);

    expect(cold.code).toBe(3);
    const [line] = errorLines(cold);
    expect(errorLines(cold)).toHaveLength(1);
    expect(line).toContain(`error [${code}]`);
    expect(line).toContain(emptyRoot);
    expect(cold.stderr).not.toMatch(/\n\s+at |unexpected error/);
    expect(existsSync(join(temp(), 'dist-cold'))).toBe(false);
  }

  (MOUNTS ? it : it.skip)('on a read-only file system (EROFS)', async () => {
    await expectReadOnlyWorks((root) => ({ cwd: temp(), wrapper: readOnlyMount(root) }), 'STATE_READ_ONLY');
  });

  it('without write permission (EACCES; as nobody when the tests run as root)', async () => {
    const asNobody = runningAsRoot();
    if (asNobody) chownTree(temp(), NOBODY);
    for (const root of [stateRoot, emptyRoot]) chmodTree(root, (mode) => mode & ~0o222);
    const user: Partial<ProcessOptions> = asNobody ? { uid: NOBODY, gid: NOBODY, env: { HOME: temp() } } : {};
    await expectReadOnlyWorks(() => ({ cwd: temp(), ...user }), 'STATE_PERMISSION_DENIED');
  });
});

function listing(directory: string): string[] {
  return readdirSync(directory, { recursive: true, encoding: 'utf8' })
    .map((name) => `${name} ${statSync(join(directory, name)).mtimeMs}`)
    .sort();
}

function chownTree(path: string, uid: number): void {
  chownSync(path, uid, uid);
  if (statSync(path).isDirectory()) for (const name of readdirSync(path)) chownTree(join(path, name), uid);
}

function chmodTree(path: string, mode: (current: number) => number): void {
  const stat = statSync(path);
  if (stat.isDirectory()) for (const name of readdirSync(path)) chmodTree(join(path, name), mode);
  chmodSync(path, mode(stat.mode & 0o7777));
}
