/**
 * The cdktf app (`cdktf.json` runs it: `cdktf synth`, `cdktf deploy sigstore-<env>`; or directly:
 * `npx tsx bin/cloud.ts`). One stack `sigstore-<env>` per environment file in `envs/` that has a
 * `cloud` section; `SIGSTORE_ENV=<env>` synthesizes that environment only. Writes to
 * `$CDKTF_OUTDIR` (set by the cdktf CLI) or `cdktf.out/`; progress on stdout (the cdktf CLI shows
 * stderr as errors), errors on stderr. `npm run synth` writes the same stack for
 * its `--env` without this file.
 */
import { writeCloudOutput } from '../lib/cloud/cloud-output';
import { listEnvironments, loadConfig } from '../lib/config/load';
import { reportError } from '../lib/cli/report-error';
import { ConfigError } from '../lib/errors';

async function main(): Promise<number> {
  const envsDir = process.env.SIGSTORE_ENVS_DIR ?? 'envs';
  const outDir = process.env.CDKTF_OUTDIR ?? 'cdktf.out';
  const selected = process.env.SIGSTORE_ENV;
  const envs = selected ? [selected] : listEnvironments(envsDir);
  if (envs.length === 0) throw new ConfigError('CONFIG_NOT_FOUND', `no environment files in ${envsDir}/`);
  const configs = envs.map((env) => loadConfig({ env, envsDir }));
  const result = await writeCloudOutput(outDir, configs, {
    label: 'CDKTF_OUTDIR',
    protect: { stateRoot: process.env.SIGSTORE_STATE_DIR ?? '.sigstore', envsDir },
  });
  for (const { env, reason } of result.skipped) process.stdout.write(`cloud: no stack for environment "${env}": ${reason}\n`);
  if (result.stacks.length === 0) {
    process.stdout.write(`cloud: no environment in ${envsDir}/ has a cloud section, so there is no stack to synthesize (envs/prd.example.yaml shows one)\n`);
  } else {
    process.stdout.write(`cloud: wrote ${result.stacks.map((stack) => `${outDir}/stacks/${stack}/cdk.tf.json`).join(', ')}\n`);
  }
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.exitCode = reportError(error, process);
  },
);
