import { spawn } from 'node:child_process';
import { readdirSync, watch } from 'node:fs';
import { join } from 'node:path';
import { snapshotTree } from '../helpers/snapshot';
import { LAUNCHER, childEnvironment } from '../helpers/cli-process';
import { gitWouldStage, makeTempProject } from '../helpers/temp-project';
import { useTempDirectory } from '../helpers/temp-directory';

/** Two configurations with different cluster manifests and the same state (nothing is minted). */
const CONFIG_A = 'organization: Test Org\nsigner: local\n';
const CONFIG_B = `${CONFIG_A}services:\n  fulcio:\n    replicas: 2\n`;

/**
 * When each killed run gets its SIGKILL: `delayMs` after the first entry of the project root whose
 * name starts with `trigger` appears or changes (`.dist.` = the run's staging; `dist` = the swap itself).
 * Spread over the ~40 ms the write of dist/ takes, so the kills land while it is built, swapped and cleaned up.
 */
const KILLS: readonly { trigger: string; delayMs: number }[] = [
  { trigger: '.dist.', delayMs: 0 },
  { trigger: '.dist.', delayMs: 12 },
  { trigger: 'dist', delayMs: 0 },
  { trigger: '.dist.', delayMs: 27 },
];

/** Runs per entry of KILLS until one is killed. */
const KILL_ATTEMPTS = 3;

interface KilledRun {
  readonly pid: number;
  readonly killed: boolean;
  readonly dist: Record<string, string>;
  readonly leftovers: Record<string, Record<string, string>>;
  readonly staged: string[];
}

/** `sigstore-cdk synth --env test` in `project`, killed with SIGKILL as `kill` says (or run to the end). */
function synthKilledAt(project: string, config: 'A' | 'B', kill?: { trigger: string; delayMs: number }): Promise<KilledRun> {
  return new Promise((resolve, reject) => {
    // A run to be killed at a lower CPU priority (nice execs node: the pid is the synth's): on a loaded
    // machine (npm test's workers) the synth otherwise could finish its ~40 ms write of dist/ before this
    // process, its turn to run late, reacted to the trigger, and the kill met an exited process (2 kills
    // of 4 in some runs). Nice 10, not 19: on two busy cores that still leaves it a tenth of one.
    const command = [process.execPath, LAUNCHER, 'synth', '--env', 'test', '--envs-dir', `envs-${config}`];
    const [file, ...args] = kill === undefined ? command : ['nice', '-n', '10', ...command];
    const child = spawn(file, args, { cwd: project, env: childEnvironment(), stdio: 'ignore' });
    let armed = kill !== undefined;
    const watcher = watch(project, (_, name) => {
      if (!armed || !name || !String(name).startsWith(kill!.trigger)) return;
      armed = false;
      setTimeout(() => child.kill('SIGKILL'), kill!.delayMs);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      watcher.close();
      if (signal !== 'SIGKILL' && code !== 0) return reject(new Error(`synth exited ${code ?? signal}`));
      const leftovers = Object.fromEntries(
        readdirSync(project)
          .filter((name) => name.startsWith('.dist.'))
          .map((name) => [name, snapshotTree(join(project, name))]),
      );
      resolve({ pid: child.pid!, killed: signal === 'SIGKILL', dist: snapshotTree(join(project, 'dist')), leftovers, staged: gitWouldStage(project) });
    });
  });
}

describe('a synth killed (SIGKILL) while it writes dist/ (real processes)', () => {
  const temp = useTempDirectory();

  it('leaves nothing git would stage, dist/ old or new and complete, and the next run removes the leftovers', async () => {
    const project = makeTempProject(join(temp(), 'project'), {
      fixtureState: true,
      files: { 'envs-A/test.yaml': CONFIG_A, 'envs-B/test.yaml': CONFIG_B },
      git: true,
    });
    const first = await synthKilledAt(project, 'A');
    const trees = { A: first.dist, B: {} as Record<string, string> };

    const runs: KilledRun[] = [];
    let killsLanded = 0;
    for (const [index, kill] of KILLS.entries()) {
      // A run can finish before its kill lands (a faster synth, or a busy machine that delivers the
      // file event late): it is checked as any other run, and the kill is tried again, sooner.
      for (let attempt = 0, delayMs = kill.delayMs; attempt < KILL_ATTEMPTS; attempt++, delayMs = Math.floor(delayMs / 2)) {
        const run = await synthKilledAt(project, index % 2 === 0 ? 'B' : 'A', { ...kill, delayMs });
        runs.push(run);
        if (run.killed) {
          killsLanded++;
          break;
        }
      }
    }
    // A run that is not killed: it cleans up after the killed ones and gives the tree of B.
    const last = await synthKilledAt(project, 'B');
    trees.B = last.dist;
    expect(Object.keys(trees.B)).toContain('sigstore.secrets.k8s.yaml');
    expect(trees.B).not.toEqual(trees.A);

    const complete = (tree: Record<string, string>) => JSON.stringify(tree) === JSON.stringify(trees.A) || JSON.stringify(tree) === JSON.stringify(trees.B);
    expect(killsLanded).toBeGreaterThanOrEqual(KILLS.length - 1);
    for (const run of runs) {
      const report = { pid: run.pid, killed: run.killed, leftovers: Object.keys(run.leftovers) };
      // git add -A would stage nothing: no Secret, no private key, no staging directory.
      expect({ ...report, staged: run.staged }).toEqual({ ...report, staged: [] });
      // dist/ is a complete tree, old or new; only a kill between the two renames of the swap leaves
      // it missing, with the complete new tree staged beside it (the next run puts it in place).
      const distComplete = complete(run.dist) || (Object.keys(run.dist).length === 0 && Object.values(run.leftovers).some((tree) => complete(subtree(tree, 'staging'))));
      expect({ ...report, distComplete }).toEqual({ ...report, distComplete: true });
      // Leftovers are the killed run's own: each run removed those of the runs before it.
      for (const name of Object.keys(run.leftovers)) expect(name).toMatch(new RegExp(`^\\.dist\\.[a-z]+-${run.pid}-`));
    }
    expect(Object.keys(last.leftovers)).toEqual([]);
    expect(last.staged).toEqual([]);
  });
});

/** The entries of `tree` under `prefix/`, re-rooted there. */
function subtree(tree: Record<string, string>, prefix: string): Record<string, string> {
  return Object.fromEntries(
    Object.entries(tree)
      .filter(([path]) => path === `${prefix}/` || path.startsWith(`${prefix}/`))
      .map(([path, value]) => [path === `${prefix}/` ? './' : path.slice(prefix.length + 1), value]),
  );
}
