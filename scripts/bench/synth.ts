import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, timeRuns, type BenchCase } from './harness';

/** `sigstore-cdk synth` as a process: cold (no state: mints everything) and warm (state complete). */
export const synthBench: BenchCase = async ({ root, runs, tempDirectory }) => {
  const directory = tempDirectory();
  const stateDir = join(directory, '.sigstore');
  const outDir = join(directory, 'dist');
  const synth = () => runCli(root, ['synth', '--env', 'dev', '--state-dir', stateDir, '--out', outDir]);
  const cold = await timeRuns('synth cold (no state, local signer)', runs, synth, () => rmSync(stateDir, { recursive: true, force: true }));
  const warm = await timeRuns('synth warm (state complete)', runs, synth);
  return [cold, warm];
};
