import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import type { SigstoreConfig } from '../config/schema';
import { CloudToolError } from '../errors';

/*
 * The cloud stack is deployed by OpenTofu run directly on the synthesized Terraform JSON
 * (`cdktf.out/stacks/<stack>/cdk.tf.json`), not by the cdktf CLI: cdktf-cli is deprecated and
 * archived upstream (no fixes, security ones included), weighs ~420 MB with a prebuilt native
 * module (node-pty), and only shells out to a terraform-compatible binary anyway. Synth needs no
 * CLI at all (lib/cloud/cloud-output.ts). OpenTofu itself is the documented prerequisite.
 */

/** The tofu subcommands `sigstore-cdk cloud` runs. */
export type TofuCommand = 'init' | 'plan' | 'apply';

export interface RunTofuOptions {
  readonly config: SigstoreConfig;
  readonly command: TofuCommand;
  /** Further arguments for tofu (`-target=…`, `-migrate-state`). @default [] */
  readonly args?: readonly string[];
  /** The cdktf output directory. @default cdktf.out */
  readonly cloudOutDir?: string;
  /** The binary: SIGSTORE_CDK_TOFU, else `tofu` on the PATH. */
  readonly environment?: NodeJS.ProcessEnv;
}

/** The stack directory tofu runs in: `<cloudOutDir>/stacks/sigstore-<env>`. */
export function stackDirectory(config: SigstoreConfig, cloudOutDir = 'cdktf.out'): string {
  return join(cloudOutDir, 'stacks', `sigstore-${config.env}`);
}

/**
 * Runs `tofu -chdir=<stack directory> <command> <args…>` with the terminal attached (tofu asks
 * before it applies). The stack must have been synthesized (`sigstore-cdk cloud synth` or `synth`).
 * The local state (`terraform.sigstore-<env>.tfstate`) lands in the project root: the stack names it
 * by a path relative to its directory.
 */
export async function runTofu(options: RunTofuOptions): Promise<void> {
  const environment = options.environment ?? process.env;
  const directory = stackDirectory(options.config, options.cloudOutDir);
  if (!existsSync(join(directory, 'cdk.tf.json'))) {
    throw new CloudToolError(
      'CLOUD_STACK_MISSING',
      `${join(directory, 'cdk.tf.json')} does not exist: synthesize the stack first ("npm run cloud:synth -- --env ${options.config.env}")` +
        (options.config.cloud ? '' : `; environment "${options.config.env}" has no cloud section, so it has no stack`),
    );
  }
  const binary = environment.SIGSTORE_CDK_TOFU || 'tofu';
  if (!onPath(binary, environment.PATH ?? '')) {
    throw new CloudToolError(
      'CLOUD_TOFU_MISSING',
      `${binary} is not on the PATH: OpenTofu (1.6 or later) is the prerequisite that deploys the cloud stack; install it (https://opentofu.org/docs/intro/install/), ` +
        'or set SIGSTORE_CDK_TOFU to a terraform-compatible binary',
    );
  }
  const args = [`-chdir=${directory}`, options.command, ...(options.args ?? [])];
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn(binary, args, { stdio: 'inherit', env: environment });
    child.on('error', reject);
    child.on('close', (exitCode, signal) => resolve(exitCode ?? (signal ? 128 : 1)));
  });
  if (code !== 0) throw new CloudToolError('CLOUD_TOFU_FAILED', `${binary} ${args.join(' ')} exited with code ${code}; its output above says why`);
}

function onPath(binary: string, path: string): boolean {
  if (isAbsolute(binary) || binary.includes('/')) return existsSync(binary);
  return path.split(delimiter).some((directory) => directory !== '' && existsSync(join(directory, binary)));
}
