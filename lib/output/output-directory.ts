import { readdirSync, readFileSync, statSync } from 'node:fs';

// The checks read a few small directories synchronously: each asynchronous step was a round trip
// through libuv's thread pool, and a synth runs them for --out and --cloud-out before it starts.
import { isAbsolute, join, relative, sep } from 'node:path';
import { OutputError } from '../errors';
import { resolveRealPath } from '../state/real-path';
import { compareCodeUnits } from '../code-unit-order';

/**
 * The one rule for every directory synth writes as output (`--out`, `--cloud-out`, the cdk8s app's
 * `dist/`): it is written only when it is absent, empty, or carries the marker file sigstore-cdk put
 * there (of the same kind); never the state, the environment files or the project root, nor anything
 * inside or above the state or the environment files. The check reads and never writes; callers run it
 * before anything is minted, and again just before they write.
 */

/** The marker file in every output directory sigstore-cdk writes. No `.json`/`.yaml` suffix: `kubectl apply -f dist/` skips it. */
export const OUTPUT_MARKER_FILE = '.sigstore-cdk-output';

/**
 * What an output directory holds. `trust-and-cluster` (`dist/`) is replaced as a whole and its marker
 * lists its files; `cloud-stacks` (`cdktf.out/`) is shared with tofu (`.terraform/`, lock files, other
 * stacks), so synth only replaces its own `manifest.json` and `stacks/<stack>/cdk.tf.json` there.
 */
export type OutputKind = 'trust-and-cluster' | 'cloud-stacks';

/** What the marker file says. */
export interface OutputMarker {
  readonly writtenBy: 'sigstore-cdk';
  readonly kind: OutputKind;
  /** For `trust-and-cluster`: every file of the directory, relative, sorted. */
  readonly files?: readonly string[];
}

const MARKER_NOTES: Record<OutputKind, string> = {
  'trust-and-cluster': 'sigstore-cdk synth replaces this directory as a whole, and only while every file in it is one listed here',
  'cloud-stacks': "sigstore-cdk synth writes manifest.json and stacks/<stack>/cdk.tf.json here; tofu's working files and other stacks stay",
};

/** The marker file's content: deterministic (no time, no path), so two runs give the same bytes. */
export function outputMarker(kind: OutputKind, files?: readonly string[]): string {
  const body = { writtenBy: 'sigstore-cdk', kind, note: MARKER_NOTES[kind], ...(files ? { files: [...files].sort() } : {}) };
  return `${JSON.stringify(body, null, 2)}\n`;
}

/** Directories an output may never be, contain, or lie inside. */
export interface ProtectedPaths {
  /** The state root (`--state-dir`): no output in it, above it, or equal to it. */
  readonly stateRoot: string;
  /** The environment files (`--envs-dir`): no output in it, above it, or equal to it. @default envs */
  readonly envsDir?: string;
  /** The project root: never an output, nor any directory above it. @default - the working directory */
  readonly projectRoot?: string;
  /** The run's other output directories, which this one may not overlap. @default - none */
  readonly otherOutputs?: readonly { readonly label: string; readonly path: string }[];
}

export interface OutputDirectoryRequest {
  /** The directory as given (relative to the working directory, or absolute). */
  readonly path: string;
  readonly kind: OutputKind;
  /** How the operator named it, for messages: `--out`, `--cloud-out`, `SIGSTORE_OUT_DIR`. */
  readonly label: string;
  readonly protect: ProtectedPaths;
}

/**
 * Checks that synth may write `request.path` as output of `request.kind`, and returns its real
 * absolute path (symbolic links resolved) to write to. Throws OutputError (exit 2) naming the option,
 * the directory and why; touches nothing.
 */
export async function checkOutputDirectory(request: OutputDirectoryRequest): Promise<string> {
  const given = `${request.label} "${request.path}"`;
  const target = await resolveRealPath(request.path);
  const shown = `${given} (${target})`;
  const refuse = (code: 'OUTPUT_DIR_PROTECTED' | 'OUTPUT_DIR_FOREIGN', why: string, remedy: string): never => {
    throw new OutputError(code, `${shown} ${why}; nothing was changed. ${remedy}`);
  };
  const elsewhere = `Choose a new or empty directory outside the project root, the state and the environment files (e.g. ${request.kind === 'trust-and-cluster' ? 'dist' : 'cdktf.out'})`;

  const projectRoot = await resolveRealPath(request.protect.projectRoot ?? process.cwd());
  if (isInside(target, projectRoot)) {
    refuse('OUTPUT_DIR_PROTECTED', target === projectRoot ? 'is the project root' : `lies above the project root ${projectRoot}`, elsewhere);
  }
  const guarded = [
    { path: request.protect.stateRoot, what: 'the state (--state-dir)' },
    { path: request.protect.envsDir ?? 'envs', what: 'the environment files directory (--envs-dir)' },
  ];
  for (const { path, what } of guarded) {
    const real = await resolveRealPath(path);
    if (target === real) refuse('OUTPUT_DIR_PROTECTED', `is ${what}`, elsewhere);
    if (isInside(real, target)) refuse('OUTPUT_DIR_PROTECTED', `lies inside ${what} ${real}`, elsewhere);
    if (isInside(target, real)) refuse('OUTPUT_DIR_PROTECTED', `holds ${what} ${real}`, elsewhere);
  }
  for (const other of request.protect.otherOutputs ?? []) {
    const real = await resolveRealPath(other.path);
    if (isInside(target, real) || isInside(real, target)) {
      refuse('OUTPUT_DIR_PROTECTED', `overlaps ${other.label} "${other.path}" (${real})`, `Give ${request.label} and ${other.label} two separate directories`);
    }
  }

  const stat = statSync(target, { throwIfNoEntry: false });
  if (stat === undefined) return target;
  if (!stat.isDirectory()) refuse('OUTPUT_DIR_FOREIGN', 'is not a directory', elsewhere);
  const problem = await foreignContent(target, request.kind);
  if (problem) refuse('OUTPUT_DIR_FOREIGN', problem, `${elsewhere}, or move those files away`);
  return target;
}

/**
 * Why synth may not write into the existing directory `directory`, or undefined when it may: it is
 * empty, its marker is of `kind` (for `trust-and-cluster`: and lists every file), or it has no marker
 * but is exactly what an older sigstore-cdk wrote there (see isLegacyOutput).
 */
async function foreignContent(directory: string, kind: OutputKind): Promise<string | undefined> {
  const names = readdirSync(directory);
  if (names.length === 0) return undefined;
  if (!names.includes(OUTPUT_MARKER_FILE)) {
    const foreign = await isLegacyOutput(directory, kind);
    if (foreign.length === 0) return undefined;
    return `holds files sigstore-cdk did not write (${listed(foreign)}) and no ${OUTPUT_MARKER_FILE} marker`;
  }
  const marker = await readMarker(join(directory, OUTPUT_MARKER_FILE));
  if (marker === undefined) return `has a ${OUTPUT_MARKER_FILE} that sigstore-cdk cannot read`;
  if (marker.kind !== kind) return `holds another kind of sigstore-cdk output (${marker.kind}, not ${kind})`;
  if (kind === 'cloud-stacks') return undefined;
  const ours = new Set([OUTPUT_MARKER_FILE, ...(marker.files ?? [])]);
  const foreign = await filesWhere(directory, (path) => !ours.has(path));
  return foreign.length === 0 ? undefined : `holds files sigstore-cdk did not write (${listed(foreign)}), beside its ${OUTPUT_MARKER_FILE} marker`;
}

async function readMarker(path: string): Promise<OutputMarker | undefined> {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<OutputMarker>;
    if (parsed.writtenBy !== 'sigstore-cdk' || (parsed.kind !== 'trust-and-cluster' && parsed.kind !== 'cloud-stacks')) return undefined;
    if (parsed.files !== undefined && !(Array.isArray(parsed.files) && parsed.files.every((file) => typeof file === 'string'))) return undefined;
    return parsed as OutputMarker;
  } catch {
    return undefined;
  }
}

/**
 * Files of an output directory without a marker that are not what an older sigstore-cdk (before the
 * marker existed) wrote there; empty when the directory is such an output, which synth then takes
 * over. `dist/`: the two manifests, the trust files and the TUF repository, by name.
 * `cdktf.out/`: a cdktf `manifest.json` (with its `stacks`) and `stacks/`.
 */
async function isLegacyOutput(directory: string, kind: OutputKind): Promise<string[]> {
  if (kind === 'trust-and-cluster') return filesWhere(directory, (path) => !LEGACY_DIST_FILES.some((pattern) => pattern.test(path)));
  const names = readdirSync(directory);
  const foreign = names.filter((name) => name !== 'manifest.json' && name !== 'stacks');
  if (foreign.length > 0) return foreign;
  if (!names.includes('manifest.json')) return [];
  try {
    const manifest = JSON.parse(readFileSync(join(directory, 'manifest.json'), 'utf8')) as { stacks?: unknown };
    return typeof manifest.stacks === 'object' && manifest.stacks !== null ? [] : ['manifest.json'];
  } catch {
    return ['manifest.json'];
  }
}

/** Every path `dist/` held before it had a marker (the layout of trust-outputs, tuf-outputs and cluster-manifests). */
const LEGACY_DIST_FILES: readonly RegExp[] = [
  /^sigstore\.k8s\.yaml$/,
  /^sigstore\.secrets\.k8s\.yaml$/,
  /^trust\/(trusted_root\.json|fulcio-chain\.pem|tsa-chain\.pem|ctlog\.pub|rekor\.pub)$/,
  /^trust\/tuf\/(root|timestamp|\d+\.(root|snapshot|targets))\.json$/,
  /^trust\/tuf\/targets\/[0-9a-f]{64}\.[^/]+$/,
];

/** True when `path` would have been accepted as part of a marker-less `dist/` (for tests of the layout). */
export function isLegacyDistFile(path: string): boolean {
  return LEGACY_DIST_FILES.some((pattern) => pattern.test(path));
}

/** Up to 6 files (not directories) under `directory`, as `/`-separated relative paths, for which `foreign` holds. */
async function filesWhere(directory: string, foreign: (path: string) => boolean): Promise<string[]> {
  const found: string[] = [];
  const walk = async (relativeDirectory: string): Promise<void> => {
    const entries = readdirSync(join(directory, relativeDirectory), { withFileTypes: true });
    for (const entry of entries.sort((a, b) => compareCodeUnits(a.name, b.name))) {
      if (found.length > 5) return;
      const path = relativeDirectory ? `${relativeDirectory}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(path);
      else if (foreign(path)) found.push(path);
    }
  };
  await walk('');
  return found;
}

function listed(paths: readonly string[]): string {
  return paths.length > 5 ? `${paths.slice(0, 5).join(', ')}, …` : paths.join(', ');
}

/** Whether `path` is `directory` or lies inside it (both absolute and resolved). */
function isInside(directory: string, path: string): boolean {
  const rest = relative(directory, path);
  return rest === '' || (rest !== '..' && !rest.startsWith(`..${sep}`) && !isAbsolute(rest));
}

