import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../lib/config/load';
import { LocalRootKeys } from '../../lib/pki/root-keys';
import { StateSnapshot, StateStore } from '../../lib/state/store';
import { runBootstrap } from '../../lib/synth';
import { ensureTufRepository, refreshTufRepository } from '../../lib/trust/tuf/lifecycle';
import { runCli, timeRuns, type BenchCase } from './harness';

/**
 * The TUF repository: building version 1 in process (role keys, nine targets, four signatures), a
 * refresh that re-signs every role (in process, a year ahead), and `sigstore-cdk tuf refresh` /
 * `verify` as processes when nothing is due (what a daily cron pays).
 */
export const tufBench: BenchCase = async ({ root, runs, tempDirectory }) => {
  const directory = tempDirectory();
  const stateRoot = join(directory, '.sigstore');
  const config = loadConfig({ env: 'dev', envsDir: join(root, 'envs') });
  const { material } = await runBootstrap({ config, stateRoot });
  const store = new StateStore({ root: stateRoot, env: config.env });
  const rootKeys = new LocalRootKeys();

  const build = await timeRuns('tuf repository build (v1, in process)', runs, async () => {
    const snapshot = StateSnapshot.empty('bench');
    await ensureTufRepository(snapshot, { config, material, rootSigner: () => rootKeys.signerFor('tuf', snapshot, new Date()), now: new Date() });
  });

  const pristine = join(directory, 'pristine');
  cpSync(stateRoot, pristine, { recursive: true });
  const restore = () => {
    rmSync(stateRoot, { recursive: true, force: true });
    cpSync(pristine, stateRoot, { recursive: true });
  };
  const yearAhead = new Date(Date.now() + 366 * 24 * 60 * 60 * 1000);
  const refreshAll = await timeRuns(
    'tuf refresh, every role due (in process, incl. load+commit)',
    runs,
    async () => {
      await store.withLock(async () => {
        const snapshot = await store.load();
        await refreshTufRepository(snapshot, { config, material, rootSigner: () => rootKeys.signerFor('tuf', snapshot, yearAhead), now: yearAhead });
        await store.commit(snapshot);
      });
    },
    restore,
  );
  restore();
  const cliArgs = ['--env', 'dev', '--state-dir', stateRoot];
  const refreshNothing = await timeRuns('sigstore-cdk tuf refresh, nothing due (process)', runs, () => runCli(root, ['tuf', 'refresh', ...cliArgs]));
  const verify = await timeRuns('sigstore-cdk verify (process)', runs, () => runCli(root, ['verify', ...cliArgs]));
  return [build, refreshAll, refreshNothing, verify];
};
