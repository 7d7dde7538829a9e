/**
 * The cdk8s app (`cdk8s.yaml`): `npx cdk8s synth` writes the same dist/ as `npm run synth`, reading
 * the state without changing it. Environment variables:
 *   SIGSTORE_ENV        environment, reads envs/<name>.yaml (default: dev)
 *   SIGSTORE_ENVS_DIR   directory of environment files (default: envs)
 *   SIGSTORE_STATE_DIR  state directory (default: .sigstore)
 *   CDK8S_OUTDIR        set by the cdk8s CLI (default: dist)
 */
import 'reflect-metadata';
import { loadConfig } from '../lib/config/load';
import { SigstoreCdkError } from '../lib/errors';
import { synthFromState } from '../lib/synth';

async function main(): Promise<number> {
  try {
    const config = loadConfig({ env: process.env.SIGSTORE_ENV ?? 'dev', envsDir: process.env.SIGSTORE_ENVS_DIR ?? 'envs' });
    const result = await synthFromState({ config, stateRoot: process.env.SIGSTORE_STATE_DIR ?? '.sigstore', outDir: process.env.CDK8S_OUTDIR ?? 'dist' });
    process.stderr.write(`sigstore-cdk (cdk8s app): wrote ${result.files.length} files for environment "${config.env}" to ${result.outDir}/\n`);
    return 0;
  } catch (error) {
    if (error instanceof SigstoreCdkError) {
      process.stderr.write(`error [${error.code}]: ${error.message}\n`);
      return error.exitCode;
    }
    process.stderr.write(`error: ${(error as Error)?.stack ?? String(error)}\n`);
    return 1;
  }
}

main().then((code) => {
  process.exitCode = code;
});
