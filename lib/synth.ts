import { chmodSync, mkdirSync, promises as fs, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { SigstoreConfig } from './config/schema';
import { plainHttpHostWarnings } from './config/service-urls';
import { validateConfig } from './config/validate';
import { checkCustody } from './custody/check-custody';
import { expectPublishedTrustKept } from './custody/published-trust';
import { missingFromState } from './custody/published-state';
import { describeSettingsNotApplied, settingsNotApplied, type SettingNotApplied } from './custody/settings-not-applied';
import { StateError, TufError } from './errors';
import { withFileSystemErrors } from './fs-errors';
import { clusterManifestFiles } from './k8s/cluster-manifests';
import { trustedIssuers } from './k8s/fulcio-config';
import { mintServicePasswords, readServicePasswords } from './k8s/service-passwords';
import type { KmsConnectionOptions } from './otc/kms-connection';
import { rootKeysFor } from './pki/configured-root-keys';
import { openPasswordsFor, stateKeyringFor, type StateKeyring } from './custody/state-keyring';
import { bootstrap, type BootstrapContext } from './pki/bootstrap';
import { LocalRootKeys, type RootKeyProvider } from './pki/root-keys';

export { rootKeysFor };
import { readPkiMaterial, type PkiMaterial } from './pki/state-items';
import { silentProgress, type Progress } from './progress';
import { outputDirectoryIsCurrent } from './output/current-output';
import { checkOutputDirectory, OUTPUT_MARKER_FILE, outputMarker, type ProtectedPaths } from './output/output-directory';
import { completeInterruptedReplace, removeStaleStaging, replaceDirectory } from './state/atomic';
import type { LockOptions } from './state/lock';
import { StateStore, type StateSnapshot } from './state/store';
import { trustOutputFiles, type OutputFile } from './trust/trust-outputs';
import { sameTargets, tufRepositoryStep, type TufPublication } from './trust/tuf/lifecycle';
import { runTufRefresh } from './tuf-refresh';
import { readTufRepository, type TufRepository } from './trust/tuf/repository';
import { buildTufTargets } from './trust/tuf/targets';
import { tufOutputFiles, tufRepositoryFiles } from './trust/tuf/tuf-outputs';
import { verifyTufRepository } from './trust/tuf/verify-repository';

/** Modes of the public output. */
const PUBLIC_FILE_MODE = 0o644;
const PUBLIC_DIR_MODE = 0o755;

export interface StateLocation {
  /** Directory holding every environment's state. @default .sigstore */
  readonly stateRoot?: string;
  /** The time written into anything minted. @default - the system clock */
  readonly clock?: () => Date;
  /** @default - silent */
  readonly progress?: Progress;
  /** How a run waits for the state lock (only runs that write take it). @default - wait 30 s, stale after 15 s */
  readonly lock?: LockOptions;
  /** Where OBS credentials are read when the state lives in OBS (`state.backend: obs`). @default process.env */
  readonly environment?: NodeJS.ProcessEnv;
  /**
   * How KMS is reached to open the state's sealed passwords (otc-kms: one decrypt-datakey per run),
   * when no root key provider brings its connection. @default - credentials from `environment`
   */
  readonly kms?: KmsConnectionOptions;
}

export interface SynthOptions extends StateLocation {
  readonly config: SigstoreConfig;
  /** Output directory, replaced as a whole (only when absent, empty or marked as sigstore-cdk's: see lib/output). @default dist */
  readonly outDir?: string;
  /** cdktf output directory of the cloud stack (environments with a `cloud` section). @default cdktf.out */
  readonly cloudOutDir?: string;
  /** Directory of the environment files, never an output directory. @default envs */
  readonly envsDir?: string;
  /** The project root, never an output directory (nor anything above it). @default - the working directory */
  readonly projectRoot?: string;
  /**
   * The time whose active generations the Secrets and server configuration hold (a planned cut-over:
   * `rotate --at`). The trust outputs list every generation whatever the time. @default - the clock
   */
  readonly at?: Date;
}

export interface SynthResult {
  readonly env: string;
  /** Items minted by this run (only with the local signer; KMS roots are minted by `bootstrap`). */
  readonly minted: readonly string[];
  readonly stateWritten: boolean;
  readonly outDir: string;
  /** Files written, relative to outDir. */
  readonly files: readonly string[];
  /** TUF metadata this run published because the targets were stale (local signer only; else it fails). */
  readonly tufPublished: readonly TufPublication[];
  /** Settings the minted certificates do not carry (organization, validity): they wait for a rotation. */
  readonly settingsNotApplied: readonly SettingNotApplied[];
  /** The cloud stack written (`stacks`), or why there is none (`skipped`). */
  readonly cloud: { readonly outDir: string; readonly stacks: readonly string[]; readonly skipped: readonly { env: string; reason: string }[] };
}

/**
 * `sigstore-cdk bootstrap`: mints whatever the state lacks with the configured signer.
 */
export async function runBootstrap(options: StateLocation & { config: SigstoreConfig; rootKeys?: RootKeyProvider; keyring?: StateKeyring; materialAt?: Date }) {
  validateConfig(options.config);
  const store = new StateStore({ root: options.stateRoot, env: options.config.env, lock: options.lock });
  const rootKeys = options.rootKeys ?? rootKeysFor(options.config, { ...options.kms, environment: options.kms?.environment ?? options.environment });
  return bootstrap({
    config: options.config,
    store,
    rootKeys,
    keyring: options.keyring ?? stateKeyringFor(options.config, { rootKeys, kms: options.kms, environment: options.environment, progress: options.progress }),
    clock: options.clock,
    ...(options.materialAt ? { materialAt: options.materialAt } : {}),
    progress: options.progress,
    extend: mintBeyondPki(options.config),
    complete: (snapshot) => missingFromState(snapshot, options.config).length === 0,
    // With the state in OBS, nothing is minted into a working copy the remote state is not the base of.
    beforeMint:
      options.config.state.backend === 'obs'
        ? () => {
            // Loaded only here: the S3 client costs a few hundred ms to import.
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            const { expectRemoteAllowsMint } = require('./commands/state-remote') as typeof import('./commands/state-remote');
            return expectRemoteAllowsMint({ config: options.config, stateRoot: options.stateRoot, environment: options.environment, progress: options.progress });
          }
        : undefined,
  });
}

/**
 * What bootstrap mints after the PKI, in the same commit: the TUF repository, then the in-cluster
 * MySQL and Redis passwords (random, minted once, no root key involved).
 */
export function mintBeyondPki(config: SigstoreConfig): (context: BootstrapContext) => Promise<void> {
  const tufRepository = tufRepositoryStep(config);
  return async (context) => {
    await tufRepository(context);
    mintServicePasswords(context.snapshot, context.clock());
  };
}

/**
 * `sigstore-cdk synth`: first refuses output directories it may not write (OutputError, before
 * anything is minted: see lib/output/output-directory.ts), then makes sure the state is complete
 * (minting it with the local signer when that is the configured signer; KMS-rooted state must come
 * from an explicit `bootstrap`), then replaces `dist/` with the outputs built from it.
 */
export async function synth(options: SynthOptions): Promise<SynthResult> {
  const { config } = options;
  // Every configuration check, the chart's included, before the first byte of state or output.
  validateConfig(config);
  const progress = options.progress ?? silentProgress;
  const outDir = options.outDir ?? 'dist';
  const cloudOutDir = options.cloudOutDir ?? 'cdktf.out';
  // Before anything is minted or written: both output directories must be ones synth may write.
  const protect: ProtectedPaths = { stateRoot: options.stateRoot ?? '.sigstore', envsDir: options.envsDir, projectRoot: options.projectRoot };
  const outputs = {
    out: { path: outDir, kind: 'trust-and-cluster', label: '--out', protect: { ...protect, otherOutputs: [{ label: '--cloud-out', path: cloudOutDir }] } },
    cloudOut: { path: cloudOutDir, kind: 'cloud-stacks', label: '--cloud-out', protect: { ...protect, otherOutputs: [{ label: '--out', path: outDir }] } },
  } as const;
  const targets = [await checkOutputDirectory(outputs.out), await checkOutputDirectory(outputs.cloudOut)];
  // Then the leftovers of killed runs beside them go (an interrupted swap of dist/ is finished).
  for (const target of targets) await completeInterruptedReplace(target);
  let material: PkiMaterial;
  let snapshot: StateSnapshot;
  let minted: readonly string[] = [];
  let stateWritten = false;
  let cloud: SynthResult['cloud'];
  const at = options.at ?? (options.clock ?? (() => new Date()))();
  if (config.signer === 'local') {
    // The cloud stack needs no trust material (the bucket comes before the ceremony): write it first.
    cloud = await synthCloudStack(config, outputs.cloudOut, progress);
    // Bootstrap verified the PKI (custody, chains, keys) and read it at `at`: its material is this run's.
    ({ snapshot, minted, written: stateWritten, material } = await runBootstrap({ ...options, rootKeys: new LocalRootKeys(), materialAt: at }));
  } else {
    // synth writes nothing into a KMS-rooted state: it reads it, without the lock, and opens its
    // passwords (one KMS decrypt-datakey) before writing any output, so a KMS failure writes nothing.
    const store = new StateStore({ root: options.stateRoot, env: config.env });
    snapshot = await store.load();
    await checkCustody(snapshot, store.directory);
    const missing = missingFromState(snapshot, config);
    if (missing.length > 0) {
      throw new StateError(
        'STATE_MISSING_ROOTS',
        `state ${store.directory} lacks ${missing.join(', ')}. With signer "${config.signer}" the roots are minted in an ` +
          `explicit ceremony, not by synth: run "sigstore-cdk bootstrap --env ${config.env}" first`,
      );
    }
    await openPasswordsFor(config, snapshot, store.directory, { kms: options.kms, environment: options.environment, progress });
    material = await readPkiMaterial(snapshot, { at });
    cloud = await synthCloudStack(config, outputs.cloudOut, progress);
  }
  let repository = readTufRepository(snapshot);
  const stateDirectory = join(options.stateRoot ?? '.sigstore', config.env);
  // Never write keys or certificates other than those the TUF repository published (a replaced root).
  expectPublishedTrustKept(repository.targets.signed, buildTufTargets(material, config), stateDirectory);
  const now = (options.clock ?? (() => new Date()))();
  let tufCheck = await verifyTufRepository(repository, material, config, now);
  let tufPublished: readonly TufPublication[] = [];
  if (!tufCheck.targetsCurrent) {
    // dist/trust/ is built from the configuration: it must never disagree with the TUF targets.
    if (config.signer !== 'local') throw staleTargets(config, repository.targets.signed.version, stateDirectory);
    // With the local signer synth publishes the new targets itself, as `tuf refresh` would.
    const refresh = await runTufRefresh({ ...options, clock: () => now, rootKeys: new LocalRootKeys() });
    tufPublished = refresh.published;
    progress.info(
      `the trust targets changed (hostnames, OIDC issuers or keys): published ${tufPublished.map((entry) => `${entry.role} v${entry.version}`).join(', ')} in ${stateDirectory}`,
    );
    snapshot = await new StateStore({ root: options.stateRoot, env: config.env }).load();
    repository = readTufRepository(snapshot);
    tufCheck = await verifyTufRepository(repository, material, config, now);
    if (!tufCheck.targetsCurrent) throw staleTargets(config, repository.targets.signed.version, stateDirectory);
  }
  for (const message of [...tufCheck.problems, ...tufCheck.warnings]) progress.warn(message);
  for (const message of plainHttpHostWarnings(config)) progress.warn(message);
  const notApplied = settingsNotApplied(config, material);
  for (const message of describeSettingsNotApplied(notApplied)) progress.warn(message);
  if (trustedIssuers(config.oidc).length === 0 && config.oidc.metaIssuers.length === 0) {
    progress.warn(`Fulcio trusts no OIDC issuer in environment "${config.env}", so it issues no certificates; list them under oidc.issuers or oidc.tenants`);
  }
  const files = await progress.step('build the cluster manifests', async () => outputFiles(config, snapshot, material, repository));
  await progress.step(`write ${outDir}/ (${files.length} files)`, () =>
    withFileSystemErrors({ kind: 'output', operation: 'write the output', path: outDir, argument: { option: '--out', value: outDir } }, () =>
      writeOutputDirectory(outputs.out, files),
    ),
  );
  return { env: config.env, minted, stateWritten: stateWritten || tufPublished.length > 0, outDir, files: files.map((file) => file.path), cloud, tufPublished, settingsNotApplied: notApplied };
}

/** The TUF targets do not publish what dist/trust/ would hold: the operator runs `tuf refresh` (it signs with the online targets key). */
function staleTargets(config: SigstoreConfig, version: number, stateDirectory: string): TufError {
  const command = config.signer === 'local' ? `sigstore-cdk synth --env ${config.env}` : `sigstore-cdk tuf refresh --env ${config.env}`;
  return new TufError(
    'TUF_TARGETS_STALE',
    `the TUF targets v${version} in ${stateDirectory} do not match the configuration (a hostname, an OIDC issuer or the signing config changed), ` +
      `so dist/trust/trusted_root.json would disagree with what clients get from the TUF repository; the outputs were not written: ` +
      `run "${command}"${config.signer === 'local' ? '' : `, then "sigstore-cdk synth --env ${config.env}"`}`,
  );
}

/** The environment's cdktf stack into `cloudOutDir`, or a line saying why it has none. */
async function synthCloudStack(config: SigstoreConfig, output: OutputTarget, progress: Progress): Promise<SynthResult['cloud']> {
  const cloudOutDir = output.path;
  if (config.cloud === undefined) {
    progress.info(`cloud: no stack for environment "${config.env}": it has no cloud section (envs/prd.example.yaml shows one)`);
    return { outDir: cloudOutDir, stacks: [], skipped: [{ env: config.env, reason: 'it has no cloud section' }] };
  }
  // Loaded only here: cdktf and the provider bindings cost a few hundred ms to import.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { writeCloudOutput } = require('./cloud/cloud-output') as typeof import('./cloud/cloud-output');
  const stackName = `sigstore-${config.env}`;
  const result = await progress.step(`write ${cloudOutDir}/stacks/${stackName}/ (cloud stack)`, () =>
    withFileSystemErrors({ kind: 'output', operation: 'write the cloud stack to', path: cloudOutDir, argument: { option: '--cloud-out', value: cloudOutDir } }, () =>
      writeCloudOutput(cloudOutDir, [config], output),
    ),
  );
  if (config.cloud.alarms.loadBalancerId === undefined) {
    progress.warn('cloud: no Fulcio 5xx and TSA latency alarms: cloud.alarms.loadBalancerId is not set');
  }
  return result;
}

/** Everything `dist/` holds, built from a complete state: trust outputs, the TUF repository, the cluster manifests. */
function outputFiles(config: SigstoreConfig, snapshot: StateSnapshot, material: PkiMaterial, repository: TufRepository): OutputFile[] {
  return [
    ...trustOutputFiles(material, config),
    ...tufOutputFiles(repository),
    // The TUF server serves the repository from the state, the same bytes as dist/trust/tuf/.
    ...clusterManifestFiles({ config, material, passwords: readServicePasswords(snapshot), tufFiles: tufRepositoryFiles(repository) }),
  ];
}

/** An output directory, how it was named, and what it may not be (see checkOutputDirectory). */
export interface OutputTarget {
  readonly path: string;
  /** For messages: `--out`, `SIGSTORE_OUT_DIR`. */
  readonly label: string;
  readonly protect: ProtectedPaths;
}

/**
 * Replaces the output directory with exactly `files` and the marker listing them, once
 * checkOutputDirectory allows it (else OutputError, nothing touched): each file with its own mode
 * (default 0644; the Secrets manifest 0600, set when the file is created so it is never readable by
 * others), directories 0755. A symbolic link is written through. A swap that a killed run left
 * half-done is finished first. A directory that already holds exactly these files (bytes and
 * modes, nothing else) is left as it is.
 */
export async function writeOutputDirectory(output: OutputTarget, files: readonly OutputFile[]): Promise<void> {
  const target = await checkOutputDirectory({ ...output, kind: 'trust-and-cluster' });
  await completeInterruptedReplace(target);
  const marker: OutputFile = { path: OUTPUT_MARKER_FILE, content: outputMarker('trust-and-cluster', files.map((file) => file.path)) };
  const expected = [...files, marker].map((file) => ({ path: file.path, content: file.content, mode: file.mode ?? PUBLIC_FILE_MODE }));
  if (await outputDirectoryIsCurrent(target, expected, PUBLIC_DIR_MODE)) {
    await removeStaleStaging(target);
    return;
  }
  await replaceDirectory(
    target,
    async (staging) => {
      // Synchronously: a few dozen small files, where each asynchronous step was a round trip
      // through libuv's thread pool.
      for (const file of expected) {
        const path = join(staging, file.path);
        mkdirSync(dirname(path), { recursive: true, mode: PUBLIC_DIR_MODE });
        writeFileSync(path, file.content, { mode: file.mode, flag: 'wx' });
        chmodSync(path, file.mode);
      }
      await chmodDirectories(staging);
    },
    { mode: PUBLIC_DIR_MODE },
  );
}

async function chmodDirectories(directory: string): Promise<void> {
  await fs.chmod(directory, PUBLIC_DIR_MODE);
  for (const entry of await fs.readdir(directory, { withFileTypes: true })) {
    if (entry.isDirectory()) await chmodDirectories(join(directory, entry.name));
  }
}

export interface SynthFromStateOptions {
  readonly config: SigstoreConfig;
  /** Directory holding every environment's state. @default .sigstore */
  readonly stateRoot?: string;
  /** Output directory, replaced as a whole (only when absent, empty or marked as sigstore-cdk's). @default dist */
  readonly outDir?: string;
  /** How the output directory was named, for messages. @default SIGSTORE_OUT_DIR */
  readonly outLabel?: string;
  /** Directory of the environment files, never an output directory. @default envs */
  readonly envsDir?: string;
}

/**
 * What `npx cdk8s synth` runs (bin/k8s.ts): the same `dist/` as `synth` (not the cloud stack: that is
 * `cdktf synth`), from a state that is only read: nothing is minted or signed, no lock is taken,
 * nothing in the state is written. A missing or incomplete state is a StateError that tells the
 * operator to run `npm run synth` or `bootstrap` first.
 */
export async function synthFromState(options: SynthFromStateOptions): Promise<Omit<SynthResult, 'cloud' | 'tufPublished' | 'settingsNotApplied'>> {
  const { config } = options;
  validateConfig(config);
  const outDir = options.outDir ?? 'dist';
  const output: OutputTarget = { path: outDir, label: options.outLabel ?? 'SIGSTORE_OUT_DIR', protect: { stateRoot: options.stateRoot ?? '.sigstore', envsDir: options.envsDir } };
  await checkOutputDirectory({ ...output, kind: 'trust-and-cluster' });
  const files = await buildFromState(options);
  await withFileSystemErrors({ kind: 'output', operation: 'write the output', path: outDir, argument: { option: output.label, value: outDir } }, () =>
    writeOutputDirectory(output, files),
  );
  return { env: config.env, minted: [], stateWritten: false, outDir, files: files.map((file) => file.path) };
}

/**
 * The files of `dist/` from a state that is only read (what synthFromState writes, and what the cdk8s
 * app prints for `cdk8s synth --stdout`). A missing or incomplete state is a StateError.
 */
export async function buildFromState(options: Pick<SynthFromStateOptions, 'config' | 'stateRoot'> & Pick<StateLocation, 'kms' | 'environment'>): Promise<OutputFile[]> {
  const { config } = options;
  const store = new StateStore({ root: options.stateRoot, env: config.env });
  const snapshot = await store.load();
  await checkCustody(snapshot, store.directory);
  const missing = missingFromState(snapshot, config);
  if (missing.length > 0) {
    const how = config.signer === 'local' ? `"npm run synth -- --env ${config.env}"` : `"sigstore-cdk bootstrap --env ${config.env}"`;
    throw new StateError(
      'STATE_INCOMPLETE',
      `state ${store.directory} ${snapshot.itemIds.length === 0 ? 'does not exist or is empty' : `lacks ${missing.join(', ')}`}; ` +
        `cdk8s synth only reads the state: run ${how} first`,
    );
  }
  // The Secrets need the passwords: an otc-kms state's open only through KMS (one decrypt-datakey).
  await openPasswordsFor(config, snapshot, store.directory, { kms: options.kms, environment: options.environment });
  const material = await readPkiMaterial(snapshot);
  const repository = readTufRepository(snapshot);
  expectPublishedTrustKept(repository.targets.signed, buildTufTargets(material, config), store.directory);
  // It only reads: stale targets are refused, never written out beside a dist/trust/ that disagrees.
  if (!sameTargets(repository.targets.signed, buildTufTargets(material, config))) throw staleTargets(config, repository.targets.signed.version, store.directory);
  return outputFiles(config, snapshot, material, repository);
}
