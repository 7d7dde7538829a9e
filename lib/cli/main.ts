import { Command, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_OVERLAP, ROTATABLE_ITEMS } from '../lifecycle/rotatable-items';
import { isLogMigrationItem, LOG_MIGRATION_ITEMS } from '../lifecycle/log-migrations';
import { STATE_KEY_SPEC, STATE_KEY_USAGE, stateKeyAliasOf } from '../custody/state-keyring';
import { IMAGES, imageReference, mirroredImages } from '../config/images';
import { loadConfig } from '../config/load';
import { ConfigError, VerifyError } from '../errors';
import type { RetryNotice } from '../otc/http-client';
import type { KmsConnectionOptions } from '../otc/kms-connection';
import { OtcKmsRootKeys } from '../pki/otc-kms-root-keys';
import { keyRefSigner, rootPublicKey, tufRootKeySigner, type RootKeyProvider } from '../pki/root-keys';
import type { Progress } from '../progress';
import type { LockOptions } from '../state/lock';
import { rootKeysFor } from '../pki/configured-root-keys';
import type { ItemExpiry } from '../lifecycle/expiry';
import type { RoleExpiry } from '../trust/tuf/expiry';
import { TUF_OUTPUT_DIRECTORY } from '../trust/tuf/tuf-outputs';
import { runTufRefresh } from '../tuf-refresh';
import { ConsoleProgress } from './console-progress';
import { redactingStream } from './redacting-stream';
import { reportError } from './report-error';

/*
 * Each command's own modules are loaded when it runs, not at every start: each is one `require`
 * below (esbuild keeps a required module unevaluated until then). lib/synth.ts, with the cluster
 * charts (cdk8s and cdk8s-plus-28), is synth's and bootstrap's; `verify`, `tuf refresh`, `state …`
 * never evaluate it. What every command shares (config, state, custody, the TUF refresh) stays a
 * static import.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
const synthCommand = () => require('../synth') as typeof import('../synth');
const rotateCommand = () => require('../commands/rotate') as typeof import('../commands/rotate');
const rotateTufRootCommand = () => require('../commands/rotate-tuf-root') as typeof import('../commands/rotate-tuf-root');
const migrateLogCommand = () => require('../commands/migrate-log') as typeof import('../commands/migrate-log');
const cloudTofuCommand = () => require('../commands/cloud-tofu') as typeof import('../commands/cloud-tofu');
const stateUpgradeCommand = () => require('../commands/state-upgrade') as typeof import('../commands/state-upgrade');
const verifyCommand = () => require('../verify') as typeof import('../verify');
const keysEnsureCommand = () => ({
  ...(require('../custody/state-keyring') as typeof import('../custody/state-keyring')),
  ...(require('../lifecycle/root-key-generations') as typeof import('../lifecycle/root-key-generations')),
  ...(require('../otc/kms-connection') as typeof import('../otc/kms-connection')),
  ...(require('../pki/otc-kms-root-keys') as typeof import('../pki/otc-kms-root-keys')),
  ...(require('../pki/tuf-root-keys') as typeof import('../pki/tuf-root-keys')),
  ...(require('../state/store') as typeof import('../state/store')),
});
/* eslint-enable @typescript-eslint/no-require-imports */

/** What the CLI reads from its surroundings; tests inject it. */
export interface CliContext {
  /** Where OTC credentials and OS_PROJECT_ID are read. @default process.env */
  readonly environment?: NodeJS.ProcessEnv;
  /** Transport details of the KMS connection (tests: instant sleep). @default - real timers */
  readonly kms?: Omit<KmsConnectionOptions, 'environment' | 'onRetry'>;
}

/** Options every environment command takes. */
interface EnvironmentOptions {
  env: string;
  envsDir: string;
  stateDir: string;
  json: boolean;
}

const environmentOptions = (command: Command): Command =>
  command
    .addOption(new Option('--env <name>', 'environment: reads envs/<name>.yaml').default('dev'))
    .addOption(new Option('--envs-dir <dir>', 'directory of environment files').default('envs'))
    .addOption(new Option('--state-dir <dir>', 'directory of the state (keys and certificates; keep it private)').default('.sigstore'))
    .addOption(new Option('--json', 'print a JSON result on stdout (progress stays on stderr)').default(false));

/** Builds the CLI. `io` lets tests capture output. Everything written to `io` is redacted of the secrets the process holds. */
export function buildCli(output: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream } = process, context: CliContext = {}): Command {
  const io = redactedIo(output);
  const program = new Command('sigstore-cdk')
    .description('A private Sigstore PKI on Kubernetes, with root keys in OTC KMS or a local key')
    .version(packageVersion(), '-V, --version', 'print the version of sigstore-cdk')
    .showHelpAfterError()
    .configureOutput({ writeOut: (text) => io.stdout.write(text), writeErr: (text) => io.stderr.write(text) })
    .exitOverride();

  const progress = new ConsoleProgress(io.stderr);
  const printResult = (options: EnvironmentOptions, result: object, human: string) => {
    if (options.json) io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else io.stderr.write(`${human}\n`);
  };
  const environment = context.environment ?? process.env;
  const kmsOptions: KmsConnectionOptions = { ...context.kms, environment, onRetry: retryWarning(progress) };
  // Read when a command runs, so a bad value is that command's error (exit 2), not a crash of the CLI.
  const lock = (): LockOptions => ({ waitMs: lockWaitMs(environment), onWait: (holder) => progress.info(`waiting for the state lock, held by ${holder}`) });

  environmentOptions(program.command('synth'))
    .description('mint missing trust material (local signer only) and write the outputs to --out')
    .addOption(new Option('--out <dir>', 'output directory, replaced as a whole; only an absent or empty one, or one sigstore-cdk wrote').default('dist'))
    .addOption(new Option('--cloud-out <dir>', 'cdktf output directory of the cloud stack; only an absent or empty one, or one sigstore-cdk wrote').default('cdktf.out'))
    .addOption(new Option('--at <time>', 'render the Secrets of the generations active at this time (UTC, ISO 8601; default: now), e.g. a planned cut-over'))
    .action(async (options: EnvironmentOptions & { out: string; cloudOut: string; at?: string }) => {
      const at = options.at === undefined ? undefined : rotateCommand().parseCutOver(options.at);
      const config = loadConfig({ env: options.env, envsDir: options.envsDir });
      progress.info(`sigstore-cdk synth --env ${config.env} (signer: ${config.signer}, state: ${options.stateDir}/${config.env})`);
      const result = await synthCommand().synth({ config, stateRoot: options.stateDir, envsDir: options.envsDir, outDir: options.out, cloudOutDir: options.cloudOut, progress, lock: lock(), at, environment, kms: kmsOptions });
      printResult(
        options,
        result,
        `${result.minted.length ? `minted ${result.minted.length} items; ` : 'state complete, nothing minted; '}` +
          `wrote ${result.files.length} files to ${result.outDir}/ (${summarizeFiles(result.files)})` +
          (result.cloud.stacks.length ? `; cloud stack ${result.cloud.outDir}/stacks/${result.cloud.stacks.join(', ')}` : '; no cloud stack'),
      );
    });

  environmentOptions(program.command('bootstrap'))
    .description('the key ceremony: mint whatever the state lacks with the configured signer; never re-mints')
    .action(async (options: EnvironmentOptions) => {
      const config = loadConfig({ env: options.env, envsDir: options.envsDir });
      progress.info(`sigstore-cdk bootstrap --env ${config.env} (signer: ${config.signer}, state: ${options.stateDir}/${config.env})`);
      const rootKeys = rootKeysFor(config, kmsOptions);
      if (rootKeys instanceof OtcKmsRootKeys) {
        const { connection } = rootKeys;
        progress.info(`root keys: ${rootKeys.description} at ${connection.endpoints.kms}, as ${connection.credentials}`);
      }
      const result = await synthCommand().runBootstrap({ config, stateRoot: options.stateDir, progress, rootKeys, lock: lock(), environment, kms: kmsOptions });
      printResult(
        options,
        { env: config.env, minted: result.minted, stateWritten: result.written },
        result.minted.length ? `minted ${result.minted.join(', ')}` : 'state complete: nothing minted, nothing written',
      );
    });

  const tuf = program.command('tuf').description('the TUF repository clients bootstrap from (dist/trust/tuf/)');
  environmentOptions(tuf.command('refresh'))
    .description('re-sign every TUF role that expires within its refresh window, and publish new targets when the trust material changed')
    .action(async (options: EnvironmentOptions) => {
      const config = loadConfig({ env: options.env, envsDir: options.envsDir });
      progress.info(`sigstore-cdk tuf refresh --env ${config.env} (state: ${options.stateDir}/${config.env})`);
      const result = await runTufRefresh({
        config,
        stateRoot: options.stateDir,
        progress,
        rootKeys: whenNeeded(() => rootKeysFor(config, kmsOptions), config.signer),
        lock: lock(),
        kms: kmsOptions,
      });
      printResult(
        options,
        result,
        [
          result.published.length
            ? `published ${result.published.map((entry) => `${entry.role} v${entry.version} (${entry.reason})`).join(', ')}; run "sigstore-cdk synth --env ${config.env}" and deploy dist/trust/tuf/`
            : 'nothing due: every role is valid beyond its refresh window and the targets are current; nothing written',
          ...result.expiry.map(describeExpiry),
        ].join('\n'),
      );
    });

  environmentOptions(program.command('verify'))
    .description(
      'check the state (files, pinned root keys, ceremony log; with KMS also against get-publickey) and the TUF repository; ' +
        'fails when a role has expired or the targets are stale, warns inside the refresh window',
    )
    .addOption(new Option('--offline', 'do not compare the pinned root keys with the signer (no KMS call, no credentials needed)').default(false))
    .action(async (options: EnvironmentOptions & { offline: boolean }) => {
      const config = loadConfig({ env: options.env, envsDir: options.envsDir });
      progress.info(`sigstore-cdk verify --env ${config.env} (state: ${options.stateDir}/${config.env})`);
      const result = await verifyCommand().runVerify({ config, stateRoot: options.stateDir, offline: options.offline, rootKeys: whenNeeded(() => rootKeysFor(config, kmsOptions), config.signer) });
      if (!options.json) for (const warning of result.warnings) progress.warn(warning);
      if (!result.ok) {
        throw new VerifyError(
          'VERIFY_FAILED',
          `environment "${config.env}" failed ${result.problems.length} check${result.problems.length === 1 ? '' : 's'}:\n${result.problems.map((problem) => `  - ${problem}`).join('\n')}`,
          result,
        );
      }
      printResult(
        options,
        result,
        [
          `environment "${config.env}" verified${result.warnings.length ? ` with ${result.warnings.length} warning(s)` : ''}`,
          ...result.tuf.expiry.map(describeExpiry),
          ...result.expiry.filter((item) => item.inUse && item.source.startsWith('certificate ')).map(describeItemExpiry),
        ].join('\n'),
      );
    });

  environmentOptions(program.command('rotate'))
    .description(
      `plan a rotation: mint the next generation of ITEM (${ROTATABLE_ITEMS.join(', ')}), publish it in trusted_root.json and TUF ` +
        'now, switch the servers at --at; old generations stay, their validFor ends at --at plus --overlap',
    )
    .argument('<item>', `what to rotate: ${ROTATABLE_ITEMS.join(', ')}; or migrate a published log to a tile-based one: ${LOG_MIGRATION_ITEMS.join(', ')} (to what logs.rekor / logs.ct names)`)
    .addOption(new Option('--at <time>', 'the cut-over (UTC, ISO 8601): servers switch then (default: now plus tuf.expiry.timestamp); for tuf-root, when root v(N+1) is signed (default: now)'))
    .addOption(new Option('--overlap <duration>', `how long the old generation stays valid after the cut-over (default: ${DEFAULT_OVERLAP})`))
    .action(async (itemArgument: string, options: EnvironmentOptions & { at?: string; overlap?: string }) => {
      const { parseRotateArguments, runRotate } = rotateCommand();
      const { item, at, overlap } = parseRotateArguments(itemArgument, options.at, options.overlap);
      const config = loadConfig({ env: options.env, envsDir: options.envsDir });
      progress.info(`sigstore-cdk rotate ${item} --env ${config.env} (signer: ${config.signer}, state: ${options.stateDir}/${config.env})`);
      if (item === 'tuf-root') {
        // The TUF root is not a generation with a cut-over: root v(N+1) is signed (at --at) and clients follow the chain.
        if (overlap !== undefined) throw new ConfigError('CONFIG_INVALID', `rotate tuf-root: --overlap ${JSON.stringify(options.overlap)} does not apply (clients follow the root chain; there is no overlap); leave it out`);
        const result = await rotateTufRootCommand().rotateTufRoot({ config, stateRoot: options.stateDir, progress, at, rootKeys: whenNeeded(() => rootKeysFor(config, kmsOptions), config.signer), lock: lock(), kms: kmsOptions });
        const { from, to } = result.rotation;
        printResult(
          options,
          result,
          [
            `TUF root v${from.version} (generation ${from.generation}, threshold ${from.threshold}: ${from.keys.map((key) => key.keyRef).join(', ')})`,
            `  -> v${to.version} (generation ${to.generation}, threshold ${to.threshold}: ${to.keys.map((key) => key.keyRef).join(', ')}), signed by ${result.rotation.signedBy.join(', ')}`,
            `published ${result.published.map((entry) => `${entry.role} v${entry.version} (${entry.reason})`).join(', ')}`,
            'deploy, in order:',
            ...result.deploy.map((step, index) => `  ${index + 1}. ${step}`),
          ].join('\n'),
        );
        return;
      }
      const rotation = { config, at, overlap, stateRoot: options.stateDir, progress, rootKeys: whenNeeded(() => rootKeysFor(config, kmsOptions), config.signer), lock: lock(), kms: kmsOptions };
      // rekor-log, ct-log: the migration to a tile-based log (lib/commands/migrate-log.ts).
      const result = isLogMigrationItem(item) ? await migrateLogCommand().runLogMigration({ ...rotation, item }) : await runRotate({ ...rotation, item });
      for (const warning of result.warnings) progress.warn(warning);
      printResult(
        options,
        result,
        [
          `rotated ${item}: ${result.generations.map((generation) => `${generation.item} g${generation.generation} (${generation.itemId})`).join(', ')}; ` +
            `cut-over ${result.activeFrom}, old ${isLogMigrationItem(item) ? 'log' : 'generation'} valid until ${result.previousValidUntil}`,
          result.published.length ? `published ${result.published.map((entry) => `${entry.role} v${entry.version}`).join(', ')}` : 'TUF unchanged',
          'deploy, in order:',
          ...result.deploy.map((step) => `  ${step}`),
        ].join('\n'),
      );
    });

  const state = program.command('state').description('the state directory (.sigstore/<env>/)');
  environmentOptions(state.command('upgrade'))
    .description(
      'convert a state of an older sigstore-cdk (state/v1) to the current format: checks every root against the signer\'s key ' +
        '(KMS get-publickey, or the local key file), then pins it; re-mints and signs nothing',
    )
    .action(async (options: EnvironmentOptions) => {
      const config = loadConfig({ env: options.env, envsDir: options.envsDir });
      progress.info(`sigstore-cdk state upgrade --env ${config.env} (signer: ${config.signer}, state: ${options.stateDir}/${config.env})`);
      const result = await stateUpgradeCommand().runStateUpgrade({ config, stateRoot: options.stateDir, progress, rootKeys: rootKeysFor(config, kmsOptions), kms: kmsOptions });
      printResult(
        options,
        result,
        result.upgraded
          ? [
              ...(result.from !== result.to
                ? [
                    `upgraded ${result.from} to ${result.to}; pinned:`,
                    ...result.pinned.map((pin) => `  ${pin.root} root key ${pin.keyRef} (SPKI SHA-256 ${pin.spkiSha256}), checked by ${pin.evidence}`),
                    result.legacyCeremonyLog ? `the old ceremony log is kept as ${result.legacyCeremonyLog}` : 'the state had no ceremony log',
                  ]
                : []),
              ...(result.sealedPasswords.length
                ? [`sealed ${result.sealedPasswords.length} password files under a KMS data key (kms/data-key.json, state key "${stateKeyAliasOf(config)}"); no plaintext password is left in the state`]
                : []),
            ].join('\n')
          : `state is in the current format (${result.to}): nothing to upgrade, nothing written`,
      );
    });

  environmentOptions(program.command('smoke'))
    .description(
      'end to end against the deployed stack: bootstrap trust from its TUF repository (with the state\'s 1.root.json), sign a blob ' +
        '(Fulcio certificate, TSA timestamp, Rekor entry), verify it with @sigstore/verify; each step timed; exit 6 naming the failing component',
    )
    .addOption(new Option('--identity-token <token>', 'the OIDC identity token for Fulcio (default: $SIGSTORE_ID_TOKEN); prefer --token-file: arguments are visible to other users'))
    .addOption(new Option('--token-file <file>', 'a file holding the OIDC identity token'))
    .addOption(new Option('--fulcio-url <url>', 'Fulcio base URL (default: $SIGSTORE_CDK_FULCIO_URL) instead of https://<services.fulcio.hostname>'))
    .addOption(new Option('--tsa-url <url>', 'TSA base URL (default: $SIGSTORE_CDK_TSA_URL) instead of https://<services.tsa.hostname> (no TSA step when neither is set)'))
    .addOption(new Option('--rekor-url <url>', 'Rekor base URL (default: $SIGSTORE_CDK_REKOR_URL) instead of https://<services.rekor.hostname> (no Rekor step when neither is set)'))
    .addOption(new Option('--tuf-url <url>', 'TUF repository base URL instead of https://<services.tuf.hostname>'))
    .action(async (options: EnvironmentOptions & { identityToken?: string; tokenFile?: string; fulcioUrl?: string; tsaUrl?: string; rekorUrl?: string; tufUrl?: string }) => {
      const config = loadConfig({ env: options.env, envsDir: options.envsDir });
      const identityToken = readIdentityToken(options, environment);
      progress.info(`sigstore-cdk smoke --env ${config.env} (state: ${options.stateDir}/${config.env})`);
      // Loaded here only: the sigstore-js client (and its HTTP stack) is for this command alone.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { runSmoke } = require('../commands/smoke') as typeof import('../commands/smoke');
      const result = await runSmoke({
        config,
        stateRoot: options.stateDir,
        identityToken,
        // Each URL: the option, else SIGSTORE_CDK_<SERVICE>_URL (a port-forward set up once), else the configured hostname.
        urls: {
          fulcio: options.fulcioUrl ?? (environment.SIGSTORE_CDK_FULCIO_URL || undefined),
          tsa: options.tsaUrl ?? (environment.SIGSTORE_CDK_TSA_URL || undefined),
          rekor: options.rekorUrl ?? (environment.SIGSTORE_CDK_REKOR_URL || undefined),
          tuf: options.tufUrl ?? (environment.SIGSTORE_CDK_TUF_URL || undefined),
        },
        progress,
      });
      printResult(
        options,
        result,
        `smoke test of environment "${config.env}" passed: ${result.steps.map((entry) => `${entry.component} ${entry.ms} ms`).join(', ')}` +
          (result.identity?.subjectAlternativeName ? `; signed as ${result.identity.subjectAlternativeName}${result.identity.issuer ? ` (${result.identity.issuer})` : ''}` : ''),
      );
    });

  program
    .command('images')
    .description('the pinned images and, with images.mirror, where each goes: one "source target" line per image, for a copy job (crane copy)')
    .addOption(new Option('--env <name>', 'environment: reads envs/<name>.yaml').default('dev'))
    .addOption(new Option('--envs-dir <dir>', 'directory of environment files').default('envs'))
    .addOption(new Option('--json', 'print a JSON result on stdout').default(false))
    .action((options: Omit<EnvironmentOptions, 'stateDir'>) => {
      const config = loadConfig({ env: options.env, envsDir: options.envsDir });
      const mirror = config.images.mirror;
      const images = mirror
        ? mirroredImages(mirror).map((image) => ({ source: image.source, target: image.target.replace(/@sha256:[0-9a-f]{64}$/, ''), digest: image.digest }))
        : Object.values(IMAGES).map((image) => ({ source: imageReference(image), target: undefined, digest: image.digest }));
      // The list is the result: on stdout, so it can be piped into the copy job.
      if (options.json) io.stdout.write(`${JSON.stringify({ env: config.env, mirror: mirror ?? null, images }, null, 2)}\n`);
      else io.stdout.write(images.map((image) => (image.target ? `${image.source} ${image.target}` : image.source)).join('\n') + '\n');
    });

  const cloud = program.command('cloud').description('the OTC cloud stack: synthesized Terraform JSON, deployed with OpenTofu (the prerequisite)');
  cloud
    .command('synth')
    .description('write the cloud stack of --env to --cloud-out/stacks/sigstore-<env>/cdk.tf.json (no trust material, no state needed)')
    .addOption(new Option('--env <name>', 'environment: reads envs/<name>.yaml').default('dev'))
    .addOption(new Option('--envs-dir <dir>', 'directory of environment files').default('envs'))
    .addOption(new Option('--cloud-out <dir>', 'cdktf output directory; only an absent or empty one, or one sigstore-cdk wrote').default('cdktf.out'))
    .addOption(new Option('--json', 'print a JSON result on stdout (progress stays on stderr)').default(false))
    .action(async (options: Omit<EnvironmentOptions, 'stateDir'> & { cloudOut: string }) => {
      const config = loadConfig({ env: options.env, envsDir: options.envsDir });
      if (!config.cloud) throw new ConfigError('CONFIG_INVALID', `environment "${config.env}" has no cloud section, so it has no cloud stack (envs/prd.example.yaml shows one)`);
      // Loaded here only: cdktf and the provider bindings take a moment to import.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { writeCloudOutput } = require('../cloud/cloud-output') as typeof import('../cloud/cloud-output');
      const result = await progress.step(`write ${options.cloudOut}/stacks/sigstore-${config.env}/cdk.tf.json`, () =>
        writeCloudOutput(options.cloudOut, [config], { label: '--cloud-out', protect: { stateRoot: '.sigstore', envsDir: options.envsDir } }),
      );
      printResult({ ...options, stateDir: '' }, result, `cloud stack ${result.stacks.map((stack) => `${options.cloudOut}/stacks/${stack}/cdk.tf.json`).join(', ')}`);
    });
  for (const [command, description] of [
    ['init', 'tofu init in the stack directory (providers; -migrate-state after changing the state backend)'],
    ['plan', 'tofu plan in the stack directory'],
    ['apply', 'tofu apply in the stack directory (tofu asks before it changes anything)'],
  ] as const) {
    cloud
      .command(command)
      .description(`${description}; arguments after -- go to tofu (e.g. -- -target=opentelekomcloud_obs_bucket.sigstore_bootstrap)`)
      .argument('[tofu-args...]', 'arguments passed to tofu')
      .addOption(new Option('--env <name>', 'environment: reads envs/<name>.yaml').default('dev'))
      .addOption(new Option('--envs-dir <dir>', 'directory of environment files').default('envs'))
      .addOption(new Option('--cloud-out <dir>', 'cdktf output directory').default('cdktf.out'))
      .action(async (tofuArgs: string[], options: { env: string; envsDir: string; cloudOut: string }) => {
        const config = loadConfig({ env: options.env, envsDir: options.envsDir });
        const { runTofu, stackDirectory } = cloudTofuCommand();
        progress.info(`sigstore-cdk cloud ${command} --env ${config.env}: tofu -chdir=${stackDirectory(config, options.cloudOut)} ${[command, ...tofuArgs].join(' ')}`);
        await runTofu({ config, command, args: tofuArgs, cloudOutDir: options.cloudOut, environment });
      });
  }

  // The remote state (state.backend: obs). Loaded on use: the S3 client costs a few hundred ms to import.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const remote = () => require('../commands/state-remote') as typeof import('../commands/state-remote');
  const remoteOptions = (options: EnvironmentOptions) => ({
    config: loadConfig({ env: options.env, envsDir: options.envsDir }),
    stateRoot: options.stateDir,
    environment,
    progress,
    lock: lock(),
    remoteWaitMs: lockWaitMs(environment),
  });
  environmentOptions(state.command('status'))
    .description('compare the working copy (.sigstore/<env>/) with the remote state in OBS; writes nothing')
    .action(async (options: EnvironmentOptions) => {
      const result = await remote().runStateStatus(remoteOptions(options));
      const generation = result.remoteGeneration;
      printResult(
        options,
        result,
        [
          `remote obs://${result.remote.bucket}/${result.remote.prefix}: ${generation ? `generation ${generation.generation}, pushed by ${generation.pushedBy} at ${generation.pushedAt}` : 'empty'}`,
          `working copy ${options.stateDir}/${result.env}: ${result.baseGeneration ? `pulled from or pushed as generation ${result.baseGeneration}` : 'never pulled or pushed'}`,
          `status: ${result.status}${result.differences.length ? ` (${result.differences.length} files differ: ${result.differences.slice(0, 6).join(', ')}${result.differences.length > 6 ? ', …' : ''})` : ''}`,
        ].join('\n'),
      );
    });
  environmentOptions(state.command('pull'))
    .description('replace the working copy with the remote state (verified first); refuses a working copy with unpushed changes')
    .action(async (options: EnvironmentOptions) => {
      const result = await remote().runStatePull(remoteOptions(options));
      printResult(
        options,
        result,
        result.written
          ? `pulled generation ${result.generation} (${result.files} files) into ${options.stateDir}/${result.env}`
          : `working copy is at generation ${result.generation} already; nothing written`,
      );
    });
  environmentOptions(state.command('push'))
    .description('publish the working copy as the next remote generation; refuses when the remote changed since the pull')
    .action(async (options: EnvironmentOptions) => {
      const result = await remote().runStatePush(remoteOptions(options));
      printResult(
        options,
        result,
        result.pushed ? `pushed generation ${result.generation} (${result.files} files)` : `remote is at generation ${result.generation}, the same as the working copy; nothing pushed`,
      );
    });

  // Backups: one encrypted archive of the state (lib/state/archive.ts).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const archives = () => require('../commands/state-archive') as typeof import('../commands/state-archive');
  environmentOptions(state.command('export'))
    .description('write the whole state as one encrypted archive (OpenPGP, passphrase from SIGSTORE_CDK_ARCHIVE_PASSPHRASE); never replaces a file')
    .requiredOption('--out <file>', 'the archive to write (mode 0600)')
    .action(async (options: EnvironmentOptions & { out: string }) => {
      const config = loadConfig({ env: options.env, envsDir: options.envsDir });
      const result = await archives().runStateExport({ config, stateRoot: options.stateDir, out: options.out, environment });
      printResult(options, result, `exported ${result.files} files of ${options.stateDir}/${result.env} to ${result.out} (SHA-256 ${result.archiveSha256})`);
    });
  environmentOptions(state.command('import'))
    .description('restore an archive written by "state export" onto an empty working copy, byte for byte, after verifying it')
    .argument('<file>', 'the archive')
    .addOption(new Option('--sha256 <hex>', 'refuse the archive unless the file has this SHA-256 (as "state export" printed it)'))
    .action(async (file: string, options: EnvironmentOptions & { sha256?: string }) => {
      const config = loadConfig({ env: options.env, envsDir: options.envsDir });
      const result = await archives().runStateImport({ config, stateRoot: options.stateDir, file, expectSha256: options.sha256, environment, lock: lock() });
      printResult(
        options,
        result,
        result.written ? `imported ${result.files} files into ${options.stateDir}/${result.env}` : `state ${options.stateDir}/${result.env} is this archive already; nothing written`,
      );
    });

  const keys = program.command('keys').description('the root keys in OTC DEW KMS');
  keys
    .command('ensure')
    .description(
      'create the three asymmetric root keys (Fulcio, TSA, TUF root; by the aliases otc.kms.fulcioRootKeyAlias, tsaRootKeyAlias, tufRootKeyAlias; idempotently) ' +
        'and the symmetric state key (otc.kms.stateKeyAlias, which seals the state\'s passwords), and print their ids; refuses a key with the wrong spec, usage or state. Also every later Fulcio or TSA root key generation the state records, ' +
        'and with --next the next one (before "rotate fulcio-root|tsa-root")',
    )
    .addOption(new Option('--env <name>', 'environment: reads envs/<name>.yaml').default('dev'))
    .addOption(new Option('--envs-dir <dir>', 'directory of environment files').default('envs'))
    .addOption(new Option('--state-dir <dir>', 'directory of the state (read only: which root key generations it records)').default('.sigstore'))
    .addOption(new Option('--next <root>', 'also create the next generation of this root key: fulcio-root or tsa-root (repeatable)').argParser(collect).default([]))
    .addOption(new Option('--json', 'print a JSON result on stdout (progress stays on stderr)').default(false))
    .action(async (options: EnvironmentOptions & { next: string[] }) => {
      const { completeRootKeyPlan, configuredTufRootKeys, connectKms, ensureRootKeyGenerations, otcConfigOf, parseNextRoots, StateKeyring, StateStore } = keysEnsureCommand();
      const next = parseNextRoots(options.next);
      const config = loadConfig({ env: options.env, envsDir: options.envsDir });
      const otc = otcConfigOf(config, '"keys ensure"');
      const snapshot = await new StateStore({ root: options.stateDir, env: config.env }).load();
      const connection = connectKms(otc, kmsOptions);
      progress.info(
        `sigstore-cdk keys ensure --env ${config.env} (OTC KMS ${connection.region}, project ${connection.projectId}, ` +
          `${connection.endpoints.kms}, as ${connection.credentials})`,
      );
      const roots = completeRootKeyPlan(otc);
      const tufRootKeyAliases = configuredTufRootKeys(config).flatMap((key) => (key.kmsAlias === undefined ? [] : [key.kmsAlias]));
      progress.info(
        `root key aliases: ${Object.entries(roots).map(([root, requirement]) => `${root} "${requirement!.alias}" (${requirement!.keySpec})`).join(', ')}` +
          (tufRootKeyAliases.length ? `; further TUF root keys: ${tufRootKeyAliases.map((alias) => `"${alias}"`).join(', ')}` : ''),
      );
      const statuses = await ensureRootKeyGenerations({ kms: connection.kms, roots, tufRootKeyAliases, snapshot, next, env: config.env, progress });
      // The symmetric key that wraps the state's data key (the sealed passwords).
      const stateKey = await new StateKeyring({ kms: connection.kms, keyAlias: stateKeyAliasOf(config), env: config.env, progress }).ensureStateKey();
      printResult(
        options,
        { env: config.env, region: connection.region, projectId: connection.projectId, keys: statuses, stateKey },
        [
          ...statuses.map(
            (key) =>
              `${key.root} root key${key.generation > 1 ? ` g${key.generation}` : ''}: ${key.keyId} (alias ${key.alias}, ${key.keySpec}, ${key.keyUsage}, enabled)${key.created ? ' created' : ' exists'}`,
          ),
          `state key: ${stateKey.keyId} (alias ${stateKey.alias}, ${STATE_KEY_SPEC}, ${STATE_KEY_USAGE}, enabled)${stateKey.created ? ' created' : ' exists'}`,
        ].join('\n'),
      );
    });

  return program;
}

/** commander: a repeatable option's values. */
function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** The identity token of `smoke`: --token-file, else --identity-token, else SIGSTORE_ID_TOKEN; a ConfigError when there is none. */
function readIdentityToken(options: { identityToken?: string; tokenFile?: string }, environment: NodeJS.ProcessEnv): string {
  if (options.tokenFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(options.tokenFile, 'utf8');
    } catch (error) {
      throw new ConfigError('CONFIG_UNREADABLE', `--token-file ${options.tokenFile}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
    return requireToken(text.trim(), `--token-file ${options.tokenFile}`);
  }
  if (options.identityToken !== undefined) return requireToken(options.identityToken.trim(), '--identity-token');
  if (environment.SIGSTORE_ID_TOKEN) return requireToken(environment.SIGSTORE_ID_TOKEN.trim(), 'SIGSTORE_ID_TOKEN');
  throw new ConfigError('CONFIG_INVALID', 'smoke needs an OIDC identity token for Fulcio: --token-file <file>, --identity-token <token> or SIGSTORE_ID_TOKEN');
}

/** A JWT: three base64url parts (Fulcio reads the subject from the payload). */
function requireToken(token: string, source: string): string {
  if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token)) {
    throw new ConfigError('CONFIG_INVALID', `${source} is not an OIDC identity token: expected a JWT (three base64url parts separated by ".")`);
  }
  return token;
}

/** The version in the project's package.json. */
function packageVersion(): string {
  return (JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
}

/** SIGSTORE_CDK_LOCK_WAIT: seconds a run waits for the state lock that another run holds. @default 30 */
function lockWaitMs(environment: NodeJS.ProcessEnv): number | undefined {
  const value = environment.SIGSTORE_CDK_LOCK_WAIT;
  if (value === undefined || value === '') return undefined;
  const seconds = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value.trim()) || !Number.isFinite(seconds)) {
    throw new ConfigError('CONFIG_INVALID', `SIGSTORE_CDK_LOCK_WAIT must be a number of seconds (0 or more), not ${JSON.stringify(value)}`);
  }
  return seconds * 1000;
}

/** The output files by name, with the TUF repository (which grows with every version) as one count. */
function summarizeFiles(files: readonly string[]): string {
  const tufPrefix = `${TUF_OUTPUT_DIRECTORY}/`;
  const tufFiles = files.filter((file) => file.startsWith(tufPrefix)).length;
  const named = files.filter((file) => !file.startsWith(tufPrefix));
  return [...named, ...(tufFiles ? [`${tufFiles} files of the TUF repository in ${tufPrefix}`] : [])].join(', ');
}

function describeExpiry(role: RoleExpiry): string {
  const when = role.daysLeft >= 0 ? `in ${role.daysLeft} days` : `${-role.daysLeft} days ago`;
  return `  TUF ${role.role.padEnd(9)} v${role.version}: expires ${role.expires} (${when}; refresh window ${role.refreshBefore}): ${role.status}`;
}

function describeItemExpiry(item: ItemExpiry): string {
  const when = item.daysLeft === null ? 'no end' : item.daysLeft >= 0 ? `in ${item.daysLeft} days` : `${-item.daysLeft} days ago`;
  return `  ${`${item.item} g${item.generation}`.padEnd(24)}: expires ${item.notAfter ?? 'never'} (${when}; renewal window ${item.renewBefore}): ${item.status}`;
}

/** A root key provider made on first use: `tuf refresh` needs KMS credentials only when the TUF root is due. */
function whenNeeded(create: () => RootKeyProvider, signer: 'local' | 'otc-kms'): RootKeyProvider {
  let provider: RootKeyProvider | undefined;
  const get = () => (provider ??= create());
  return {
    get description() {
      return provider?.description ?? 'configured signer';
    },
    signerFor: (...args) => get().signerFor(...args),
    publicKeyFor: (root, snapshot) => rootPublicKey(get(), root, snapshot),
    signerForGeneration: (root, generation, snapshot, now) => {
      const inner = get();
      if (!inner.signerForGeneration) throw new Error(`${inner.description} has no root key generations`);
      return inner.signerForGeneration(root, generation, snapshot, now);
    },
    // Only where the provider can look generations up (KMS); the local keys are files of the state.
    ...(signer === 'otc-kms' ? { publicKeyForGeneration: (root, generation, snapshot) => (get() as Required<RootKeyProvider>).publicKeyForGeneration(root, generation, snapshot) } : {}),
    signerForTufRootKey: (source, snapshot, now) => tufRootKeySigner(get(), source, snapshot, now),
    signerForKeyRef: (keyRef, snapshot) => keyRefSigner(get(), keyRef, snapshot),
    get tufRootKeysInKms() {
      return get().tufRootKeysInKms;
    },
  };
}

/** Progress warnings for retried OTC calls: a slow ceremony says why it is slow. */
function retryWarning(progress: Progress): (notice: RetryNotice) => void {
  return (notice) =>
    progress.warn(
      `${notice.service.toUpperCase()} ${notice.operation}: ${notice.reason}; ` +
        (notice.delayMs > 0 ? `retrying in ${(notice.delayMs / 1000).toFixed(1)} s (attempt ${notice.attempt + 1} of ${notice.maxAttempts})` : 'retrying'),
    );
}

/** stdout and stderr with every secret the process registered (credentials, tokens, signatures) redacted. */
function redactedIo(io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream }): { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream } {
  return { stdout: redactingStream(io.stdout), stderr: redactingStream(io.stderr) };
}

/** Runs the CLI and returns the process exit code (0 ok, 2 config, 3 state, 4 signer, 1 other). */
export async function runCli(
  argv: string[],
  output: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream } = process,
  context: CliContext = {},
): Promise<number> {
  const io = redactedIo(output);
  const program = buildCli(io, context);
  const wantsJson = argv.includes('--json');
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    const commanderError = error as { code?: string; exitCode?: number };
    if (typeof commanderError.code === 'string' && commanderError.code.startsWith('commander.')) {
      // Help asked for (`--help`, `help`, `help <command>`) and `--version` exit 0; help shown because
      // something was wrong (no command, an unknown option) is a usage error.
      return commanderError.exitCode === 0 ? 0 : 2;
    }
    return reportError(error, { stderr: io.stderr, jsonStdout: wantsJson ? io.stdout : undefined });
  }
}
