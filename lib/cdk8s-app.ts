import { promises as fs, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parse } from 'yaml';
import type { SigstoreConfig } from './config/schema';
import { PUBLIC_MANIFEST_FILE, SECRETS_MANIFEST_FILE } from './k8s/cluster-manifests';
import { PRIVATE_FILE_MODE } from './state/atomic';
import { buildFromState, synthFromState } from './synth';

/**
 * The cdk8s app (`cdk8s.yaml` runs bin/k8s.js) and what the cdk8s CLI does around it
 * (cdk8s-cli 2.x, `lib/cli/cmds/synth.js`): before it runs the app, the CLI deletes its output
 * directory (`--output`, else cdk8s.yaml's `output:`, else `dist`) with `rm -rf`, also with
 * `--stdout`; it runs the app with `CDK8S_OUTDIR` set to that directory, or with `--stdout` to a new
 * temporary one; then it lists (or, with `--stdout`, pipes to stdout) every `*.yaml` the app left
 * there, several files at once, so their chunks interleave beyond 64 KiB; and whatever the app's
 * exit code, a failure makes it exit 1 with its own stack trace.
 *
 * Hence cdk8s.yaml's `output:` is `.cdk8s.out`, a directory only the CLI uses, and the app writes
 * `dist/` itself, atomically and under the same rules as `sigstore-cdk synth` (lib/output), then
 * links its two manifests into `.cdk8s.out/` for the CLI's listing. Given any other `CDK8S_OUTDIR`
 * (`--stdout`'s temporary directory, or `--output DIR`), it leaves `dist/` alone and writes there one
 * file, ALL_MANIFESTS_FILE, so the stream on stdout is whole.
 */

/** What the app writes into a `CDK8S_OUTDIR` other than the CLI's configured one: every object, public ones first, then the Secrets (mode 0600). */
export const ALL_MANIFESTS_FILE = 'sigstore.all.k8s.yaml';

export interface Cdk8sAppOptions {
  readonly config: SigstoreConfig;
  /** @default .sigstore */
  readonly stateRoot?: string;
  /** Directory of the environment files, never written. @default envs */
  readonly envsDir?: string;
  /** Where `dist/` goes (SIGSTORE_OUT_DIR). @default dist */
  readonly outDir?: string;
  /** `CDK8S_OUTDIR`, set by the cdk8s CLI. @default - not run by the CLI: write `dist/` only */
  readonly cliOutDir?: string;
  /** The CLI's own output directory (cdk8s.yaml's `output:`). @default - read from ./cdk8s.yaml, else dist */
  readonly cliConfiguredOutDir?: string;
}

export interface Cdk8sAppResult {
  /** `dist` when the app wrote `outDir`; `manifests` when it wrote only ALL_MANIFESTS_FILE for the CLI. */
  readonly wrote: 'dist' | 'manifests';
  /** The directory written: outDir, or the CLI's directory. */
  readonly directory: string;
  readonly files: readonly string[];
}

/** Runs the cdk8s app: reads the state (never writes it) and writes what the situation above asks for. */
export async function runCdk8sApp(options: Cdk8sAppOptions): Promise<Cdk8sAppResult> {
  const outDir = options.outDir ?? 'dist';
  const stateRoot = options.stateRoot ?? '.sigstore';
  const cliOutDir = options.cliOutDir;
  const configured = options.cliConfiguredOutDir ?? cdk8sConfiguredOutput();
  const mode = cliOutDir === undefined || same(cliOutDir, outDir) ? 'dist' : same(cliOutDir, configured) ? 'dist+links' : 'manifests';
  if (mode === 'manifests') {
    const files = await buildFromState({ config: options.config, stateRoot });
    const content = (path: string) => files.find((file) => file.path === path)!.content;
    const publicYaml = content(PUBLIC_MANIFEST_FILE);
    await fs.mkdir(cliOutDir!, { recursive: true });
    const path = join(cliOutDir!, ALL_MANIFESTS_FILE);
    await fs.rm(path, { force: true });
    await fs.writeFile(path, `${publicYaml}${publicYaml.endsWith('\n') ? '' : '\n'}---\n${content(SECRETS_MANIFEST_FILE)}`, { mode: PRIVATE_FILE_MODE, flag: 'wx' });
    return { wrote: 'manifests', directory: cliOutDir!, files: [ALL_MANIFESTS_FILE] };
  }
  const { files } = await synthFromState({ config: options.config, stateRoot, outDir, envsDir: options.envsDir, outLabel: 'SIGSTORE_OUT_DIR' });
  if (mode === 'dist+links') {
    // The CLI lists (and would validate) the *.yaml in its directory: links to dist/'s manifests, no copy of a Secret.
    await fs.mkdir(cliOutDir!, { recursive: true });
    for (const name of [PUBLIC_MANIFEST_FILE, SECRETS_MANIFEST_FILE]) {
      const link = join(cliOutDir!, name);
      await fs.rm(link, { force: true });
      await fs.symlink(relative(dirname(resolve(link)), resolve(outDir, name)), link);
    }
  }
  return { wrote: 'dist', directory: outDir, files };
}

/** cdk8s.yaml's `output:` in the working directory (where the CLI reads it), else the CLI's default `dist`. */
function cdk8sConfiguredOutput(): string {
  try {
    const output = (parse(readFileSync('cdk8s.yaml', 'utf8')) as { output?: unknown } | null)?.output;
    return typeof output === 'string' ? output : 'dist';
  } catch {
    return 'dist';
  }
}

function same(a: string, b: string): boolean {
  return resolve(a) === resolve(b);
}
