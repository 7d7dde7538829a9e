import type { SigstoreConfig } from '../config/schema';
import { checkCustody } from '../custody/check-custody';
import { StateError } from '../errors';
import { silentProgress, type Progress } from '../progress';
import type { LockOptions } from '../state/lock';
import { StateStore } from '../state/store';
import { verifyElsewhere } from '../state/verify-elsewhere';
import { expectSafeBucket } from '../remote/bucket-guard';
import { connectObsState, type ObsStateLocation } from '../remote/obs-connection';
import { ObsObjects } from '../remote/obs-objects';
import { acquireRemoteLock } from '../remote/remote-lock';
import { digestsOf, fetchFiles, readHead, sameFiles, writeGeneration, type ReadHead } from '../remote/remote-state';
import { readBase, writeBase, type WorkingCopyBase } from '../remote/working-copy';

/**
 * `sigstore-cdk state pull|push|status`: the working copy `.sigstore/<env>/` and the remote state in
 * OBS (lib/remote/remote-state.ts). A push publishes the working copy as the next generation, only
 * over the generation it was pulled from; a pull replaces the working copy with the remote one, only
 * when the working copy holds nothing unpushed. Both verify what they move (the manifest's hashes,
 * the pinned roots, the ceremony log) before anything is replaced.
 */
export interface RemoteStateOptions {
  readonly config: SigstoreConfig;
  /** @default .sigstore */
  readonly stateRoot?: string;
  /** Where the OBS credentials are read. @default process.env */
  readonly environment?: NodeJS.ProcessEnv;
  /** @default - silent */
  readonly progress?: Progress;
  /** The local state lock (a pull replaces the working copy under it). @default - wait 30 s */
  readonly lock?: LockOptions;
  /** How long a push waits for another machine's remote lock. @default 30 s */
  readonly remoteWaitMs?: number;
}

/**
 * How the working copy relates to the remote: `in-sync`; `local-ahead` (changes to push);
 * `remote-ahead` (another machine pushed: pull); `diverged` (both changed, or a working copy that
 * was never pulled and differs); `remote-only` (no working copy: pull); `local-only` (nothing remote:
 * the first push); `empty`.
 */
export type SyncStatus = 'in-sync' | 'local-ahead' | 'remote-ahead' | 'diverged' | 'remote-only' | 'local-only' | 'empty';

export function classify(local: Readonly<Record<string, string>>, base: WorkingCopyBase | undefined, remote: ReadHead | undefined): SyncStatus {
  const localEmpty = Object.keys(local).length === 0;
  if (!remote) return localEmpty ? 'empty' : 'local-only';
  if (sameFiles(local, remote.head.files)) return 'in-sync';
  if (localEmpty) return 'remote-only';
  if (base?.head === remote.digest) return 'local-ahead';
  if (base && sameFiles(local, base.files)) return 'remote-ahead';
  return 'diverged';
}

export interface StateStatusResult {
  readonly env: string;
  readonly remote: { readonly bucket: string; readonly prefix: string; readonly endpoint: string };
  readonly status: SyncStatus;
  /** The remote head, if any. */
  readonly remoteGeneration?: { readonly generation: number; readonly pushedAt: string; readonly pushedBy: string; readonly head: string };
  /** The generation this working copy was last pulled from or pushed as. */
  readonly baseGeneration?: number;
  /** Files that differ between the working copy and the remote head. */
  readonly differences: readonly string[];
}

interface Opened {
  readonly objects: ObsObjects;
  readonly store: StateStore;
  readonly stateRoot: string;
}

async function open(options: RemoteStateOptions): Promise<Opened> {
  const connection = connectObsState(options.config, options.environment);
  const objects = new ObsObjects(connection.s3, connection.location);
  (options.progress ?? silentProgress).info(
    `remote state: obs://${connection.location.bucket}/${connection.location.prefix} at ${connection.location.endpoint}, as ${connection.location.credentials}`,
  );
  await expectSafeBucket(objects);
  const stateRoot = options.stateRoot ?? '.sigstore';
  return { objects, store: new StateStore({ root: stateRoot, env: options.config.env, lock: options.lock }), stateRoot };
}

async function localDigests(store: StateStore): Promise<{ files: Map<string, Buffer>; digests: Record<string, string>; loadedFrom: string }> {
  const { files, loadedFrom } = await store.readFiles();
  return { files, digests: digestsOf(files), loadedFrom };
}

export async function runStateStatus(options: RemoteStateOptions): Promise<StateStatusResult> {
  const { objects, store, stateRoot } = await open(options);
  const remote = await readHead(objects);
  const base = await readBase(stateRoot, objects.location);
  const { digests } = await localDigests(store);
  return {
    env: options.config.env,
    remote: remoteOf(objects.location),
    status: classify(digests, base, remote),
    ...(remote ? { remoteGeneration: { generation: remote.head.generation, pushedAt: remote.head.pushedAt, pushedBy: remote.head.pushedBy, head: remote.digest } } : {}),
    ...(base ? { baseGeneration: base.generation } : {}),
    differences: differences(digests, remote?.head.files ?? {}),
  };
}

export interface StatePushResult {
  readonly env: string;
  readonly pushed: boolean;
  readonly generation: number;
  readonly files: number;
}

/** Publishes the working copy as the next remote generation, under the remote lock, only over the generation it was pulled from. */
export async function runStatePush(options: RemoteStateOptions): Promise<StatePushResult> {
  const progress = options.progress ?? silentProgress;
  const { objects, store, stateRoot } = await open(options);
  const snapshot = await store.load();
  if (snapshot.itemIds.length === 0) {
    throw new StateError('STATE_INCOMPLETE', `state ${store.directory} holds nothing to push; run "sigstore-cdk state pull --env ${options.config.env}" to get the remote state`);
  }
  await checkCustody(snapshot, store.directory);
  const { files, digests } = await localDigests(store);
  const lock = await acquireRemoteLock(objects, {
    ttlMs: objects.location.lockTtlMs,
    waitMs: options.remoteWaitMs,
    purpose: 'state push',
    onWait: (holder) => progress.info(`waiting for the remote state lock, held by ${holder}`),
    onTakeover: (previous) => progress.warn(`took over the stale remote state lock of ${previous}`),
  });
  try {
    const remote = await readHead(objects);
    const base = await readBase(stateRoot, objects.location);
    const status = classify(digests, base, remote);
    if (status === 'in-sync') {
      await writeBase(stateRoot, objects.location, remote!);
      return { env: options.config.env, pushed: false, generation: remote!.head.generation, files: files.size };
    }
    if (status === 'remote-ahead' || status === 'diverged') {
      throw new StateError(
        'STATE_REMOTE_CHANGED',
        `the remote state is at generation ${remote!.head.generation} (pushed by ${remote!.head.pushedBy} at ${remote!.head.pushedAt}), ` +
          `${base ? `but this working copy was pulled from generation ${base.generation}` : 'and this working copy was never pulled from it'}; ` +
          `pushing would discard that update. Nothing was pushed. Run "sigstore-cdk state status --env ${options.config.env}" to see what differs ` +
          `(${describeDifferences(digests, remote!.head.files)}), then "state pull" (after moving your working copy aside if it holds changes of its own)`,
      );
    }
    const written = await progress.step(`push generation ${(remote?.head.generation ?? 0) + 1} (${files.size} files)`, () => writeGeneration(objects, lock, files, remote));
    await writeBase(stateRoot, objects.location, written);
    return { env: options.config.env, pushed: true, generation: written.head.generation, files: files.size };
  } finally {
    await lock.release().catch(() => {}); // a claim left behind goes stale
  }
}

export interface StatePullResult {
  readonly env: string;
  readonly written: boolean;
  readonly generation: number;
  readonly files: number;
}

/** Replaces the working copy with the remote head, verified, unless the working copy holds unpushed changes. */
export async function runStatePull(options: RemoteStateOptions): Promise<StatePullResult> {
  const progress = options.progress ?? silentProgress;
  const { objects, store, stateRoot } = await open(options);
  const remote = await readHead(objects);
  if (!remote) {
    throw new StateError(
      'STATE_REMOTE_EMPTY',
      `the remote state obs://${objects.location.bucket}/${objects.location.prefix} is empty: nothing to pull. ` +
        `The first "sigstore-cdk state push --env ${options.config.env}" creates it`,
    );
  }
  const base = await readBase(stateRoot, objects.location);
  const local = await localDigests(store);
  const status = classify(local.digests, base, remote);
  if (status === 'in-sync') {
    await writeBase(stateRoot, objects.location, remote);
    return { env: options.config.env, written: false, generation: remote.head.generation, files: local.files.size };
  }
  if (status === 'local-ahead' || status === 'diverged') {
    throw new StateError(
      'STATE_LOCAL_UNPUSHED',
      `the working copy ${store.directory} differs from the remote generation ${remote.head.generation} ` +
        `(${describeDifferences(local.digests, remote.head.files)}) and ${base ? `has changes made after generation ${base.generation}` : 'was never pulled or pushed'}; ` +
        `a pull would discard them. Nothing was changed. ${status === 'local-ahead' ? 'Push them first ("state push")' : 'Move the working copy aside (or export it) and pull again'}`,
    );
  }
  const files = await progress.step(`pull generation ${remote.head.generation} (${Object.keys(remote.head.files).length} files)`, () => fetchFiles(objects, remote.head));
  await verifyElsewhere(stateRoot, options.config.env, files);
  await store.replaceFiles(files, local.loadedFrom);
  await writeBase(stateRoot, objects.location, remote);
  return { env: options.config.env, written: true, generation: remote.head.generation, files: files.size };
}

/**
 * Refuses to mint when the remote holds a state that the working copy is not derived from: no working
 * copy (pull it), another machine's newer generation (pull it), or a working copy that was never
 * pulled. A working copy at the remote head, or with unpushed changes on top of it, may mint.
 */
export async function expectRemoteAllowsMint(options: RemoteStateOptions): Promise<void> {
  const { objects, store, stateRoot } = await open(options);
  const remote = await readHead(objects);
  if (!remote) return;
  const base = await readBase(stateRoot, objects.location);
  const { digests } = await localDigests(store);
  const status = classify(digests, base, remote);
  if (status === 'in-sync' || status === 'local-ahead') return;
  const why =
    status === 'remote-only'
      ? `there is no working copy in ${store.directory}`
      : status === 'remote-ahead'
        ? `this working copy is at generation ${base!.generation}`
        : `the working copy ${store.directory} is not derived from it (${describeDifferences(digests, remote.head.files)})`;
  throw new StateError(
    'STATE_REMOTE_DIVERGED',
    `refusing to mint: the remote state obs://${objects.location.bucket}/${objects.location.prefix} holds generation ${remote.head.generation} ` +
      `(pushed by ${remote.head.pushedBy} at ${remote.head.pushedAt}) and ${why}; minting here would make a second, different CA. ` +
      `Run "sigstore-cdk state pull --env ${options.config.env}" first. Nothing was minted or written`,
  );
}

function remoteOf(location: ObsStateLocation) {
  return { bucket: location.bucket, prefix: location.prefix, endpoint: location.endpoint };
}

function differences(local: Readonly<Record<string, string>>, remote: Readonly<Record<string, string>>): string[] {
  return [...new Set([...Object.keys(local), ...Object.keys(remote)])].filter((path) => local[path] !== remote[path]).sort();
}

function describeDifferences(local: Readonly<Record<string, string>>, remote: Readonly<Record<string, string>>): string {
  const paths = differences(local, remote);
  return paths.length ? `${paths.length} file${paths.length === 1 ? '' : 's'} differ: ${paths.slice(0, 4).join(', ')}${paths.length > 4 ? ', …' : ''}` : 'no file differs';
}
