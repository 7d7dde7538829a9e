import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { completeInterruptedReplace, findInterruptedReplace, removeStaleStaging, replaceDirectory } from '../../lib/state/atomic';
import { StateStore } from '../../lib/state/store';
import { git, gitWouldStage, REPO_ROOT } from '../helpers/temp-project';
import { useTempDirectory } from '../helpers/temp-directory';

/** A pid no process can have (above the largest pid_max), as a killed run's leftovers carry. */
const DEAD_PID = 2 ** 22 + 1;

/** Leaves what a run killed at a given point of its swap leaves beside `target`. */
function leftover(target: string, pid: number, trees: { staging?: string; previous?: string }): string {
  const swap = join(target, '..', `.${target.split('/').pop()}.swap-${pid}-0badc0de`);
  mkdirSync(swap);
  writeFileSync(join(swap, '.gitignore'), '*\n');
  for (const [name, content] of Object.entries(trees)) {
    mkdirSync(join(swap, name));
    writeFileSync(join(swap, name, 'file'), content);
  }
  return swap;
}

describe('replaceDirectory: staging git never sees, leftovers the next run removes', () => {
  const temp = useTempDirectory();

  it('while the new tree is built, git sees nothing of it, even with no .gitignore at all', async () => {
    git(temp(), 'init', '-q');
    const target = join(temp(), 'out');
    let seenDuringBuild: string[] | undefined;
    await replaceDirectory(target, async (staging) => {
      writeFileSync(join(staging, 'secret.yaml'), 'kind: Secret\n');
      seenDuringBuild = gitWouldStage(temp());
    });
    expect(seenDuringBuild).toEqual([]);
    expect(readdirSync(temp()).sort()).toEqual(['.git', 'out']);
  });

  it("the project's .gitignore covers every name a swap leaves, beside dist/, cdktf.out/ and the state", () => {
    const names = ['.dist.swap-1-ab/x', '.cdktf.out.swap-1-ab/x', '.sigstore/.dev.swap-1-ab/x', '.dist.staging-1-ab/x', '.dist.previous-1-ab/x', '.manifest.json.tmp-1-ab', '.cdk8s.out/x'];
    const ignored = git(REPO_ROOT, 'check-ignore', '--no-index', ...names).split('\n').filter(Boolean);
    expect(ignored).toEqual(names);
  });

  it('removes the leftovers of killed runs, keeps those of a live run, and the old tree while the target is missing', async () => {
    const target = join(temp(), 'dist');
    const killedBuilding = leftover(target, DEAD_PID, { staging: 'new' });
    const live = leftover(target, process.pid, { staging: 'mine' });
    const interrupted = leftover(target, DEAD_PID + 1, { staging: 'new', previous: 'old' });
    await removeStaleStaging(target);
    expect([existsSync(killedBuilding), existsSync(live), existsSync(interrupted)]).toEqual([false, true, true]);
    expect(await findInterruptedReplace(target)).toBe(join(interrupted, 'previous'));
    mkdirSync(target);
    writeFileSync(join(target, 'file'), 'current');
    await removeStaleStaging(target);
    expect([existsSync(live), existsSync(interrupted)]).toEqual([true, false]);
  });

  it('for the state, a swap killed between its renames is reported (with the command that restores it), never removed', async () => {
    const stateRoot = join(temp(), '.sigstore');
    mkdirSync(stateRoot);
    const swap = leftover(join(stateRoot, 'test'), DEAD_PID, { staging: 'new', previous: 'old' });
    const store = new StateStore({ root: stateRoot, env: 'test' });
    await expect(store.withLock(() => store.load())).rejects.toMatchObject({
      code: 'STATE_INTERRUPTED',
      message: expect.stringContaining(`mv ${join(swap, 'previous')} ${join(stateRoot, 'test')}`),
    });
    expect(readFileSync(join(swap, 'previous', 'file'), 'utf8')).toBe('old');
  });

  it('for an output, finishes a swap killed between its renames, or puts the old tree back', async () => {
    const target = join(temp(), 'dist');
    leftover(target, DEAD_PID, { staging: 'new', previous: 'old' });
    await completeInterruptedReplace(target);
    expect(readFileSync(join(target, 'file'), 'utf8')).toBe('new');
    expect(readdirSync(temp())).toEqual(['dist']);

    const other = join(temp(), 'other');
    mkdirSync(join(temp(), `.other.previous-${DEAD_PID}-0badc0de`)); // an older version's name
    writeFileSync(join(temp(), `.other.previous-${DEAD_PID}-0badc0de`, 'file'), 'old');
    await completeInterruptedReplace(other);
    expect(readFileSync(join(other, 'file'), 'utf8')).toBe('old');
    expect(readdirSync(temp()).sort()).toEqual(['dist', 'other']);
  });
});
