import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeCloudOutput } from '../../lib/cloud/cloud-output';
import { parseConfigText } from '../../lib/config/load';
import { timeRuns, type BenchCase } from './harness';

/** The provider submodules the cloud stack imports (deep imports; never the package index). */
const SUBMODULES = [
  'provider',
  'obs-bucket',
  'obs-bucket-policy',
  'kms-key-v1',
  'data-opentelekomcloud-kms-key-v1',
  'cts-tracker-v1',
  'cts-tracker-v3',
  'cts-event-notification-v3',
  'ces-alarmrule',
  'smn-topic-v2',
  'smn-subscription-v2',
  'swr-organization-v2',
  'swr-repository-v2',
].map((name) => `@cdktf/provider-opentelekomcloud/lib/${name}`);

function runNode(root: string, args: string[], env: NodeJS.ProcessEnv = {}): void {
  const result = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', env: { ...process.env, ...env } });
  if (result.status !== 0) throw new Error(`node ${args.join(' ')} failed (${result.status}):\n${result.stderr}`);
}

/**
 * The cloud synth: import cost of the provider submodules (and of the index, for comparison), each
 * in a fresh process, then `bin/cloud.ts` as a process (what `cdktf synth` runs) on the production
 * example, and the stack construction + synth in-process once everything is loaded.
 */
export const cloudBench: BenchCase = async ({ root, runs, tempDirectory }) => {
  const requireAll = (modules: string[]) => ['-e', modules.map((name) => `require(${JSON.stringify(name)});`).join('')];
  const submodules = await timeRuns(`import cdktf + ${SUBMODULES.length} provider submodules (process)`, runs, () => runNode(root, requireAll(['cdktf', ...SUBMODULES])));
  const index = await timeRuns('import cdktf + provider index (process, avoided)', runs, () => runNode(root, requireAll(['cdktf', '@cdktf/provider-opentelekomcloud'])));
  const baseline = await timeRuns('node -e "" (process baseline)', runs, () => runNode(root, ['-e', '']));

  const directory = tempDirectory();
  const envsDir = join(directory, 'envs');
  mkdirSync(envsDir);
  copyFileSync(join(root, 'envs', 'prd.example.yaml'), join(envsDir, 'prd.yaml'));
  const outDir = join(directory, 'cdktf.out');
  const app = await timeRuns('cloud synth: bin/cloud.js, prd example (process)', runs, () =>
    runNode(root, [join(root, 'bin', 'cloud.js')], { SIGSTORE_ENVS_DIR: envsDir, CDKTF_OUTDIR: outDir }),
  );

  // In-process: what the stack itself costs once the modules are loaded.
  const config = { ...parseConfigText(readFileSync(join(envsDir, 'prd.yaml'), 'utf8'), 'envs/prd.yaml'), env: 'prd' };
  const inProcessOut = join(directory, 'in-process');
  const warm = await timeRuns('cloud synth: construct + synth + write (in-process, warm)', runs, () => writeCloudOutput(inProcessOut, [config]), () =>
    rmSync(inProcessOut, { recursive: true, force: true }),
  );
  return [baseline, submodules, index, app, warm];
};
