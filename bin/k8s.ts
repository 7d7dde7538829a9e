/**
 * The cdk8s app (`cdk8s.yaml`): `npx cdk8s synth` writes the same dist/ as `npm run synth`, reading
 * the state without changing it; `npx cdk8s synth --stdout` prints the manifests and leaves dist/
 * alone (lib/cdk8s-app.ts says why and how). Environment variables:
 *   SIGSTORE_ENV        environment, reads envs/<name>.yaml (default: dev)
 *   SIGSTORE_ENVS_DIR   directory of environment files (default: envs)
 *   SIGSTORE_STATE_DIR  state directory (default: .sigstore)
 *   SIGSTORE_OUT_DIR    output directory (default: dist)
 *   CDK8S_OUTDIR        set by the cdk8s CLI: its own directory (cdk8s.yaml `output:`), or --stdout's
 * Exit codes as the CLI's (2 config or output directory, 3 state, 1 other), one `error [CODE]:` line.
 */
import { runCdk8sApp } from '../lib/cdk8s-app';
import { loadConfig } from '../lib/config/load';
import { reportError } from '../lib/cli/report-error';

async function main(): Promise<number> {
  try {
    const envsDir = process.env.SIGSTORE_ENVS_DIR ?? 'envs';
    const config = loadConfig({ env: process.env.SIGSTORE_ENV ?? 'dev', envsDir });
    const result = await runCdk8sApp({
      config,
      envsDir,
      stateRoot: process.env.SIGSTORE_STATE_DIR ?? '.sigstore',
      outDir: process.env.SIGSTORE_OUT_DIR ?? 'dist',
      cliOutDir: process.env.CDK8S_OUTDIR,
    });
    process.stderr.write(
      result.wrote === 'dist'
        ? `sigstore-cdk (cdk8s app): wrote ${result.files.length} files for environment "${config.env}" to ${result.directory}/\n`
        : `sigstore-cdk (cdk8s app): wrote the manifests of environment "${config.env}" (public objects, then the Secrets) for the cdk8s CLI; dist/ unchanged\n`,
    );
    return 0;
  } catch (error) {
    return reportError(error, process);
  }
}

main().then((code) => {
  process.exitCode = code;
});
