import { join } from 'node:path';
import { loadConfig } from '../../lib/config/load';
import { checkCustody } from '../../lib/custody/check-custody';
import { expectPublishedTrustKept } from '../../lib/custody/published-trust';
import { buildClusterCharts, clusterDocuments, documentsYaml, PUBLIC_MANIFEST_FILE, SECRETS_MANIFEST_FILE } from '../../lib/k8s/cluster-manifests';
import { readServicePasswords } from '../../lib/k8s/service-passwords';
import { readPkiMaterial } from '../../lib/pki/state-items';
import { PRIVATE_FILE_MODE } from '../../lib/state/atomic';
import { StateStore } from '../../lib/state/store';
import { writeOutputDirectory } from '../../lib/synth';
import { trustOutputFiles } from '../../lib/trust/trust-outputs';
import { readTufRepository } from '../../lib/trust/tuf/repository';
import { buildTufTargets } from '../../lib/trust/tuf/targets';
import { tufOutputFiles, tufRepositoryFiles } from '../../lib/trust/tuf/tuf-outputs';
import { verifyTufRepository } from '../../lib/trust/tuf/verify-repository';
import { runCli, timeRuns, type BenchCase, type Measurement } from './harness';
import { spawnSync } from 'node:child_process';

/**
 * A warm synth of the dev environment in process, phase by phase: the steps lib/synth.ts runs for a
 * complete state, called in its order, each timed. The first pass is what a CLI process pays (the
 * JIT is cold: every function runs for the first time); the median of the later passes is the work
 * itself. Module loading and Node's start are not in it: `--version` through the bin (its start
 * alone) and `node -e ""` give those.
 */
export const phasesBench: BenchCase = async ({ root, runs, tempDirectory }) => {
  const directory = tempDirectory();
  const stateRoot = join(directory, '.sigstore');
  const outDir = join(directory, 'dist');
  runCli(root, ['synth', '--env', 'dev', '--state-dir', stateRoot, '--out', outDir]); // mints the state
  const samples = new Map<string, number[]>();
  const time = async <T>(phase: string, work: () => T | Promise<T>): Promise<T> => {
    const started = performance.now();
    const result = await work();
    const list = samples.get(phase) ?? [];
    list.push(performance.now() - started);
    samples.set(phase, list);
    return result;
  };
  const envsDir = join(root, 'envs');
  const output = { path: outDir, label: '--out', protect: { stateRoot, envsDir, projectRoot: directory } };
  const pass = async () => {
    const config = await time('load and check envs/dev.yaml', () => loadConfig({ env: 'dev', envsDir }));
    const store = new StateStore({ root: stateRoot, env: config.env });
    const snapshot = await time('load the state', () => store.load());
    await time('custody checks', () => checkCustody(snapshot, store.directory));
    const material = await time('read the PKI material (chains, keys)', () => readPkiMaterial(snapshot, { at: new Date() }));
    const repository = await time('read and verify the TUF repository', async () => {
      const read = readTufRepository(snapshot);
      expectPublishedTrustKept(read.targets.signed, buildTufTargets(material, config), store.directory);
      await verifyTufRepository(read, material, config, new Date());
      return read;
    });
    const trustFiles = await time('trust outputs (trusted_root.json, TUF files)', () => [...trustOutputFiles(material, config), ...tufOutputFiles(repository)]);
    const charts = await time('build the cdk8s charts', () =>
      buildClusterCharts({ config, material, passwords: readServicePasswords(snapshot), tufFiles: tufRepositoryFiles(repository) }),
    );
    const documents = await time('render the objects (cdk8s toJson, checksums)', () => clusterDocuments(charts));
    const manifests = await time('write the YAML', () => [documentsYaml(documents.public), documentsYaml(documents.secrets)]);
    await time('compare with dist/ (current: nothing written)', () =>
      writeOutputDirectory(output, [
        ...trustFiles,
        { path: PUBLIC_MANIFEST_FILE, content: manifests[0] },
        { path: SECRETS_MANIFEST_FILE, content: manifests[1], mode: PRIVATE_FILE_MODE },
      ]),
    );
  };
  await pass();
  for (let run = 0; run < Math.max(runs, 3); run++) await pass();
  // What a process pays before the first phase: Node's start, and the bundle's (read, code cache, modules).
  const start = await timeRuns('bin/sigstore-cdk.js --version (start + modules, process)', runs, () => {
    const run = spawnSync(process.execPath, [join(root, 'bin', 'sigstore-cdk.js'), '--version'], { cwd: directory });
    if (run.status !== 0) throw new Error(`--version failed: ${run.stderr}`);
  });
  const result: Measurement[] = [];
  let first = 0;
  let warm = 0;
  for (const [phase, list] of samples) {
    const later = list.slice(1).sort((a, b) => a - b);
    const median = later[Math.floor(later.length / 2)];
    first += list[0];
    warm += median;
    result.push({ name: `  phase: ${phase}`, medianMs: median, minMs: later[0], maxMs: later[later.length - 1], runs: later.length, notes: `first pass ${list[0].toFixed(1)} ms` });
  }
  return [start, { name: 'warm synth in process, by phase (dev)', notes: `sum of phases: first pass ${first.toFixed(0)} ms, later passes ${warm.toFixed(0)} ms` }, ...result];
};
