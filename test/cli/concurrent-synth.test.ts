import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { StateStore } from '../../lib/state/store';
import { REPO_ROOT, holdStateLock, runCliProcess, type ProcessRun } from '../helpers/cli-process';
import { runCliCaptured } from '../helpers/cli';
import { useTempDirectory } from '../helpers/temp-directory';

/**
 * Many cold `synth` runs at once on one project, as processes: whatever the lock does, exactly one
 * PKI is minted, every run's dist/ carries it, and the losers wait and find the state complete.
 * Each round costs some 6 s of CPU, so `npm test` runs the harder scenario once;
 * SIGSTORE_CDK_STRESS_ROUNDS=N adds N rounds of both (the race showed in 3 of 60 rounds).
 */
const RUNS = 6;
const ROUNDS = Number(process.env.SIGSTORE_CDK_STRESS_ROUNDS ?? 0);
const ENVS = join(REPO_ROOT, 'envs');

describe('concurrent cold synths (real processes)', () => {
  const temp = useTempDirectory();

  const WAITING = 'waiting for the state lock, held by';

  /** The runs; `onWaiting` is called once every one of them says it waits for the lock. */
  const synthAll = (cwd: string, onWaiting?: () => void): Promise<ProcessRun[]> => {
    const waiting = new Set<number>();
    return Promise.all(
      Array.from({ length: RUNS }, (_, index) =>
        runCliProcess(['synth', '--envs-dir', ENVS, '--state-dir', '.sigstore', '--out', `dist-${index}`, '--cloud-out', `cdktf-${index}`], {
          cwd,
          timeoutMs: 90_000,
          onStderr: (stderr) => {
            if (waiting.has(index) || !stderr.includes(WAITING)) return;
            waiting.add(index);
            if (waiting.size === RUNS) onWaiting?.();
          },
        }),
      ),
    );
  };

  /** One PKI in the state, in every run's dist/, one signature per root in the ceremony log; `verify` passes. */
  async function expectOnePki(cwd: string, runs: readonly ProcessRun[]): Promise<void> {
    expect(runs.map((run) => (run.code === 0 ? 0 : `${run.code}: ${run.stderr.split('\n').filter((line) => line.startsWith('error')).join(' ')}`))).toEqual(
      Array(RUNS).fill(0),
    );
    expect(runs.filter((run) => run.stderr.includes('✓ mint fulcio-root'))).toHaveLength(1);
    const stateRoot = join(cwd, '.sigstore');
    const snapshot = await new StateStore({ root: stateRoot, env: 'dev' }).load();
    const fulcioRoot = snapshot.file('fulcio-root', 'certificate').toString('utf8');
    const trustedRoot = readFileSync(join(cwd, 'dist-0', 'trust', 'trusted_root.json'), 'utf8');
    for (let index = 0; index < RUNS; index++) {
      expect(readFileSync(join(cwd, `dist-${index}`, 'trust', 'fulcio-chain.pem'), 'utf8')).toContain(fulcioRoot.trim());
      expect(readFileSync(join(cwd, `dist-${index}`, 'trust', 'trusted_root.json'), 'utf8')).toBe(trustedRoot);
    }
    const signed = readFileSync(join(stateRoot, 'dev', 'ceremony.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line).purpose as string);
    expect(signed.filter((purpose) => purpose === 'fulcio-root certificate')).toHaveLength(1);
    expect(signed.filter((purpose) => purpose === 'tsa-root certificate')).toHaveLength(1);
    expect(existsSync(join(stateRoot, 'dev.lock'))).toBe(false);
    const verify = await runCliCaptured(['verify', '--envs-dir', ENVS, '--state-dir', stateRoot]);
    expect(verify.stderr).toContain('environment "dev" verified');
    expect(verify.code).toBe(0);
  }

  /** The case: a run was killed holding the lock (it is left behind), then many cold runs start. */
  async function afterKilledHolder(): Promise<void> {
    const holder = holdStateLock(temp(), '.sigstore', 'dev');
    await holder.waitFor('held');
    await holder.kill(); // leaves its lock behind, as written by this version
    expect(existsSync(join(temp(), '.sigstore', 'dev.lock'))).toBe(true);
    await expectOnePki(temp(), await synthAll(temp()));
  }

  /** Harder: the runs wait on a live holder, which is killed: they all see its lock go stale at once and race for it. */
  async function holderKilledWhileWaiting(): Promise<void> {
    const holder = holdStateLock(temp(), '.sigstore', 'dev');
    await holder.waitFor('held');
    let allWaiting!: () => void;
    const waiting = new Promise<void>((resolve) => (allWaiting = resolve));
    const runs = synthAll(temp(), allWaiting);
    // Killed once every run waits for its lock (or the runs ended without: then they fail below).
    await Promise.race([waiting, runs]);
    await holder.kill();
    const finished = await runs;
    expect(finished.filter((run) => run.stderr.includes(`${WAITING} pid ${holder.pid}`))).toHaveLength(RUNS);
    await expectOnePki(temp(), finished);
  }

  it(`${RUNS} runs waiting on a live holder that is then killed: they all race for the takeover of its dead lock`, holderKilledWhileWaiting);

  for (let round = 1; round <= ROUNDS; round++) {
    it(`stress round ${round}: ${RUNS} runs after a run was killed holding the lock`, afterKilledHolder);
    it(`stress round ${round}: ${RUNS} runs waiting on a live holder that is then killed`, holderKilledWhileWaiting);
  }

  it('a run that finds a live holder waits as long as SIGSTORE_CDK_LOCK_WAIT says, then exits 3 naming the holder', async () => {
    const holder = holdStateLock(temp(), '.sigstore', 'dev');
    try {
      await holder.waitFor('held');
      const run = await runCliProcess(['synth', '--envs-dir', ENVS], { cwd: temp(), env: { SIGSTORE_CDK_LOCK_WAIT: '1' } });
      expect(run.code).toBe(3);
      const errors = run.stderr.split('\n').filter((line) => line.startsWith('error'));
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(new RegExp(`^error \\[STATE_LOCKED\\]: state \\.sigstore/dev is locked by pid ${holder.pid} on \\S+ since \\d{4}-`));
      expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
      expect(existsSync(join(temp(), 'dist'))).toBe(false);
    } finally {
      await holder.kill();
    }
  });
});
