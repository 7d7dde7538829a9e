import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { KmsEmulator } from '../../test/otc/kms-emulator';
import { credentialEnvironment, startEmulator, writeKmsEnvironment } from '../../test/otc/kms-fixture';
import { runCliAsync, timeRuns, type BenchCase, type Measurement } from './harness';

/**
 * The KMS ceremony through the loopback KMS emulator (test/otc/kms-emulator.ts), as processes:
 * `keys ensure` creating the root keys and the state key, then a cold `bootstrap` (keys exist, no state) minting
 * everything, with AK/SK and with an IAM token. Reports wall times and the calls KMS and IAM saw,
 * by API, for one bootstrap. The emulator signs in-process, so the times are the client's cost plus
 * loopback HTTP, not OTC latency (multiply the call count by a real round trip for that).
 */
export const kmsBench: BenchCase = async ({ root, runs, tempDirectory }) => {
  const directory = tempDirectory();
  const stateDir = join(directory, '.sigstore');
  let emulator: KmsEmulator | undefined;
  let envsDir = '';
  const fresh = async () => {
    await emulator?.stop();
    emulator = await startEmulator();
    envsDir = writeKmsEnvironment(directory, emulator);
    rmSync(stateDir, { recursive: true, force: true });
  };
  const cli = (args: string[], auth: 'access-key' | 'password') =>
    runCliAsync(root, [...args, '--env', 'kms', '--envs-dir', envsDir], { PATH: process.env.PATH, ...credentialEnvironment(auth) });
  const callsOfOneRun = () => {
    const counts = emulator!.callCounts();
    const total = Object.values(counts).reduce((sum, count) => sum + count, 0);
    return `${total} calls: ${Object.entries(counts)
      .map(([api, count]) => `${api} ${count}`)
      .join(', ')}`;
  };

  const results: Measurement[] = [];
  try {
    const ensure = await timeRuns('kms keys ensure (creates the 3 root keys and the state key, AK/SK)', runs, () => cli(['keys', 'ensure'], 'access-key'), fresh);
    results.push({ ...ensure, notes: callsOfOneRun() });
    for (const auth of ['access-key', 'password'] as const) {
      const prepare = async () => {
        await fresh();
        await cli(['keys', 'ensure'], 'access-key');
        emulator!.calls.length = 0;
      };
      const bootstrap = await timeRuns(`kms bootstrap cold (${auth === 'access-key' ? 'AK/SK' : 'IAM token'})`, runs, () => cli(['bootstrap', '--state-dir', stateDir], auth), prepare);
      results.push({ ...bootstrap, notes: callsOfOneRun() });
    }
  } finally {
    await emulator?.stop();
  }
  return results;
};
