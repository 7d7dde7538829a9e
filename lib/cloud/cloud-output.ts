import { App } from 'cdktf';
import { promises as fs } from 'node:fs';
import { dirname, join } from 'node:path';
import type { SigstoreConfig } from '../config/schema';
import { checkOutputDirectory, OUTPUT_MARKER_FILE, outputMarker, type ProtectedPaths } from '../output/output-directory';
import { makeSwapDirectory, removeStaleStaging, writeFileAtomic } from '../state/atomic';
import { SigstoreCloudStack } from './sigstore-cloud-stack';

/** Modes of the public output (it holds no secret: credentials come from the environment). */
const PUBLIC_FILE_MODE = 0o644;
const PUBLIC_DIR_MODE = 0o755;

/** Where each environment went: a stack, or the reason it has none. */
export interface CloudSynthResult {
  /** The cdktf output directory (`cdktf.out`). */
  readonly outDir: string;
  /** Stacks written, e.g. `sigstore-prd`. */
  readonly stacks: readonly string[];
  /** Environments without a stack, and why. */
  readonly skipped: readonly { readonly env: string; readonly reason: string }[];
}

/**
 * A cdktf app with one `SigstoreCloudStack` per environment that can have one. Stack traces are off:
 * they would put absolute source paths into the output.
 */
export function buildCloudApp(configs: readonly SigstoreConfig[], outdir: string): { app: App; stacks: SigstoreCloudStack[]; skipped: CloudSynthResult['skipped'] } {
  const app = new App({ outdir, stackTraces: false });
  const stacks: SigstoreCloudStack[] = [];
  const skipped: { env: string; reason: string }[] = [];
  for (const config of configs) {
    const reason = SigstoreCloudStack.reasonForNoStack(config);
    if (reason) skipped.push({ env: config.env, reason });
    else stacks.push(new SigstoreCloudStack(app, { config }));
  }
  return { app, stacks, skipped };
}

/** How the cdktf output directory was named, and what it may not be (see checkOutputDirectory). */
export interface CloudOutputGuard {
  /** For messages: `--cloud-out`, `CDKTF_OUTDIR`. @default cdktf output directory */
  readonly label?: string;
  /** @default - the state root .sigstore, the environment files envs, the working directory */
  readonly protect?: ProtectedPaths;
}

/**
 * Synthesizes the cloud stacks of `configs` into `outDir` (the cdktf layout: `manifest.json` and
 * `stacks/<stack>/cdk.tf.json`), once checkOutputDirectory allows it (absent, empty, or marked as a
 * sigstore-cdk cloud output; else OutputError, nothing touched). The app synthesizes into the
 * `staging/` of a swap directory beside it first (git never sees it); then each stack's `cdk.tf.json`
 * replaces the old one by a rename, so a reader (tofu, cdktf deploy) sees the old stack or the new
 * one, never a half-written file. The stack directories themselves are kept: they hold tofu's
 * `.terraform/` and lock file. Stacks of other environments and their manifest entries stay as they are.
 */
export async function writeCloudOutput(outDir: string, configs: readonly SigstoreConfig[], guard: CloudOutputGuard = {}): Promise<CloudSynthResult> {
  const target = await checkOutputDirectory({
    path: outDir,
    kind: 'cloud-stacks',
    label: guard.label ?? 'cdktf output directory',
    protect: guard.protect ?? { stateRoot: '.sigstore' },
  });
  const reasons = configs.map((config) => ({ env: config.env, reason: SigstoreCloudStack.reasonForNoStack(config) }));
  if (reasons.every(({ reason }) => reason !== undefined)) return { outDir, stacks: [], skipped: reasons.map(({ env, reason }) => ({ env, reason: reason! })) };
  await removeStaleStaging(target);
  const swap = await makeSwapDirectory(target);
  const staging = join(swap, 'staging');
  try {
    const { app, stacks, skipped } = buildCloudApp(configs, staging);
    app.synth();
    const staged = JSON.parse(await fs.readFile(join(staging, 'manifest.json'), 'utf8')) as CdktfManifest;
    await fs.mkdir(join(target, 'stacks'), { recursive: true, mode: PUBLIC_DIR_MODE });
    await writeFileAtomic(join(target, OUTPUT_MARKER_FILE), outputMarker('cloud-stacks'), PUBLIC_FILE_MODE);
    for (const stack of stacks) {
      const entry = staged.stacks[stack.node.id];
      const stackDirectory = join(target, entry.workingDirectory);
      await fs.mkdir(stackDirectory, { recursive: true, mode: PUBLIC_DIR_MODE });
      const stagedFile = join(staging, entry.synthesizedStackPath);
      await fs.chmod(stagedFile, PUBLIC_FILE_MODE);
      await fs.rename(stagedFile, join(target, entry.synthesizedStackPath));
    }
    await writeFileAtomic(join(target, 'manifest.json'), stableJson(await mergedManifest(join(target, 'manifest.json'), staged)), PUBLIC_FILE_MODE);
    return { outDir, stacks: stacks.map((stack) => stack.node.id), skipped };
  } finally {
    await fs.rm(swap, { recursive: true, force: true });
  }
}

interface CdktfManifest {
  readonly version: string;
  readonly stacks: Record<string, { readonly workingDirectory: string; readonly synthesizedStackPath: string }>;
}

/** The existing manifest's stacks (those whose file still exists), updated with the new ones. */
async function mergedManifest(path: string, staged: CdktfManifest): Promise<CdktfManifest> {
  let existing: CdktfManifest | undefined;
  try {
    existing = JSON.parse(await fs.readFile(path, 'utf8')) as CdktfManifest;
  } catch {
    existing = undefined; // missing or unreadable: the new manifest lists what this run wrote
  }
  const stacks: CdktfManifest['stacks'] = {};
  const outDir = dirname(path);
  for (const [name, entry] of Object.entries(existing?.stacks ?? {})) {
    if (typeof entry?.synthesizedStackPath !== 'string') continue;
    if (await fs.stat(join(outDir, entry.synthesizedStackPath)).then(() => true, () => false)) stacks[name] = entry;
  }
  return { version: staged.version, stacks: await withExistingPaths(outDir, { ...stacks, ...staged.stacks }) };
}

/**
 * The stack entries without the file paths that name nothing: cdktf's manifest names a
 * `stackMetadataPath` (`stacks/<stack>/metadata.json`) that it writes only for HCL output, so a
 * reader of the manifest would look for a file that does not exist.
 */
async function withExistingPaths(outDir: string, stacks: CdktfManifest['stacks']): Promise<CdktfManifest['stacks']> {
  const result: Record<string, CdktfManifest['stacks'][string]> = {};
  for (const [name, entry] of Object.entries(stacks)) {
    const kept: Record<string, unknown> = {};
    for (const [field, value] of Object.entries(entry)) {
      const namesAFile = field.endsWith('Path') && typeof value === 'string';
      if (namesAFile && !(await fs.stat(join(outDir, value)).then((stats) => stats.isFile(), () => false))) continue;
      kept[field] = value;
    }
    result[name] = kept as CdktfManifest['stacks'][string];
  }
  return result;
}

/** JSON with sorted keys and two-space indentation, as cdktf writes it: the same input gives the same bytes. */
function stableJson(value: unknown): string {
  const sorted = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(sorted);
    if (node !== null && typeof node === 'object') {
      return Object.fromEntries(Object.keys(node).sort().map((key) => [key, sorted((node as Record<string, unknown>)[key])]));
    }
    return node;
  };
  return JSON.stringify(sorted(value), null, 2);
}
