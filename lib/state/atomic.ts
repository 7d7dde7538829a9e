import { randomBytes } from 'node:crypto';
import { closeSync, fchmodSync, fsync, lstatSync, mkdirSync, openSync, promises as fs, readdirSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Modes for everything that may hold key material. */
export const PRIVATE_FILE_MODE = 0o600;
export const PRIVATE_DIR_MODE = 0o700;

function uniqueSuffix(): string {
  return `${process.pid}-${randomBytes(4).toString('hex')}`;
}

/**
 * Writes a file atomically: a temporary sibling with the final mode, fsync, rename over the target,
 * fsync of the directory. Readers see the old content or the new, never a partial file.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = PRIVATE_FILE_MODE): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.tmp-${uniqueSuffix()}`);
  const handle = await fs.open(temporary, 'wx', mode);
  try {
    await handle.writeFile(data);
    await handle.chmod(mode); // the umask may have narrowed or widened nothing, but be explicit
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await fs.rename(temporary, path);
  } catch (error) {
    await fs.rm(temporary, { force: true });
    throw error;
  }
  await syncDirectory(dirname(path));
}

/** Writes a file into a directory being built (no rename needed: the directory itself is swapped). */
export async function writeNewFile(path: string, data: string | Uint8Array, mode: number): Promise<void> {
  await fs.mkdir(dirname(path), { recursive: true, mode: PRIVATE_DIR_MODE });
  const handle = await fs.open(path, 'wx', mode);
  try {
    await handle.writeFile(data);
    await handle.chmod(mode);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * writeNewFile for many small files at once, into a directory being built: opened, written and
 * chmodded synchronously (each asynchronous step was a round trip through libuv's thread pool), then
 * fsynced together on the pool (one synchronous fsync after another waited on the disk in a row).
 * Resolves once every file is durable.
 */
export async function writeNewFiles(files: Iterable<readonly [string, string | Uint8Array]>, mode: number): Promise<void> {
  const descriptors: number[] = [];
  try {
    for (const [path, data] of files) {
      mkdirSync(dirname(path), { recursive: true, mode: PRIVATE_DIR_MODE });
      const descriptor = openSync(path, 'wx', mode);
      descriptors.push(descriptor);
      const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      for (let written = 0; written < bytes.length; ) written += writeSync(descriptor, bytes, written, bytes.length - written);
      fchmodSync(descriptor, mode);
    }
    await Promise.all(descriptors.map((descriptor) => new Promise<void>((done, fail) => fsync(descriptor, (error) => (error ? fail(error) : done())))));
  } finally {
    for (const descriptor of descriptors) closeSync(descriptor);
  }
}

export interface ReplaceDirectoryOptions {
  /** Mode of the new directory. @default 0o700 */
  readonly mode?: number;
}

/**
 * The name of what a swap of `target` puts beside it: `.<name>.swap-<pid>-<random>/`, holding a
 * `.gitignore` of `*` (so git ignores it wherever it is), `staging/` (the new tree while it is built)
 * and, during the swap, `previous/` (the old tree). One directory per run, on the target's
 * filesystem, so both renames stay atomic.
 */
const SWAP_INFIX = 'swap' as const;
/** Names an older version used: `.<name>.staging-<pid>-<random>` and `.<name>.previous-<pid>-<random>` beside the target. */
const LEGACY_INFIXES = ['staging', 'previous'] as const;
/** Inside a swap directory. */
const SWAP_STAGING = 'staging';
const SWAP_PREVIOUS = 'previous';
/** Makes git ignore the swap directory and everything in it, whatever the project's .gitignore says. */
const SWAP_GITIGNORE = '.gitignore';

/**
 * A scratch directory beside `target` that git never picks up: `.<name>.swap-<pid>-<random>/` with a
 * `.gitignore` of `*` written before anything else. Returns its path; the caller removes it.
 */
export async function makeSwapDirectory(target: string): Promise<string> {
  const parent = dirname(target);
  await fs.mkdir(parent, { recursive: true, mode: PRIVATE_DIR_MODE });
  const swap = join(parent, `.${basename(target)}.${SWAP_INFIX}-${uniqueSuffix()}`);
  await fs.mkdir(swap, { mode: PRIVATE_DIR_MODE });
  await writeNewFile(join(swap, SWAP_GITIGNORE), '*\n', 0o644);
  return swap;
}

/**
 * Replaces `target` with a directory produced by `build`, so that readers see either the old tree
 * or the complete new one. `build` fills `staging/` of a swap directory beside the target (see
 * makeSwapDirectory: git never sees it); if it throws, the swap directory is removed and `target`
 * is untouched. The swap is two renames (target → previous, staging → target); a kill between them
 * leaves the target missing and both trees in the swap directory, which `findInterruptedReplace`
 * reports and `completeInterruptedReplace` finishes. Afterwards the leftovers of killed runs are removed.
 */
export async function replaceDirectory(
  target: string,
  build: (staging: string) => Promise<void>,
  options: ReplaceDirectoryOptions = {},
): Promise<void> {
  const mode = options.mode ?? PRIVATE_DIR_MODE;
  const swap = await makeSwapDirectory(target);
  const staging = join(swap, SWAP_STAGING);
  const previous = join(swap, SWAP_PREVIOUS);
  try {
    await fs.mkdir(staging, { mode });
    await fs.chmod(staging, mode);
    await build(staging);
    await syncTree(staging);
    await swapIn(target, staging, previous);
  } catch (error) {
    await fs.rm(swap, { recursive: true, force: true });
    throw error;
  }
  await syncDirectory(dirname(target));
  await fs.rm(swap, { recursive: true, force: true });
  await removeStaleStaging(target);
}

/**
 * target → previous, staging → target. Should another run put a target in place between the two
 * (two syntheses at once), that one is moved aside too and this one's tree wins; should the second
 * rename fail otherwise, the old tree goes back.
 */
async function swapIn(target: string, staging: string, previous: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const aside = attempt === 0 ? previous : `${previous}-${attempt}`;
    const moved = await fs.rename(target, aside).then(
      () => true,
      (error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return false;
        throw error;
      },
    );
    try {
      await fs.rename(staging, target);
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if ((code === 'ENOTEMPTY' || code === 'EEXIST') && attempt < 5) continue;
      if (moved) await fs.rename(aside, target).catch(() => undefined);
      throw error;
    }
  }
}

/** A leftover of a swap of `target`, found beside it. */
interface Leftover {
  readonly path: string;
  /** `swap` (this version) or a legacy name. */
  readonly kind: typeof SWAP_INFIX | (typeof LEGACY_INFIXES)[number];
  /** The run that made it, when its name says (`<pid>-<random>`). */
  readonly pid?: number;
}

async function leftoversOf(target: string): Promise<Leftover[]> {
  const parent = dirname(target);
  let names: string[];
  try {
    // synchronous, as every probe of this module that only reads: one call, no thread pool round trip
    names = readdirSync(parent);
  } catch {
    return [];
  }
  const leftovers: Leftover[] = [];
  for (const kind of [SWAP_INFIX, ...LEGACY_INFIXES] as const) {
    const prefix = `.${basename(target)}.${kind}-`;
    for (const name of names.filter((entry) => entry.startsWith(prefix)).sort()) {
      const pid = /^(\d+)-[0-9a-f]+$/.exec(name.slice(prefix.length))?.[1];
      leftovers.push({ path: join(parent, name), kind, pid: pid === undefined ? undefined : Number(pid) });
    }
  }
  return leftovers;
}

/** Whether the run that made a leftover may still be working on it (this process, or a live one). */
function mayBeInUse(leftover: Leftover): boolean {
  if (leftover.pid === undefined) return false;
  if (leftover.pid === process.pid) return true;
  try {
    process.kill(leftover.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The old tree a leftover holds: `previous/` of a swap directory, or a legacy `.previous-*` itself. */
async function previousTreeOf(leftover: Leftover): Promise<string | undefined> {
  if (leftover.kind === 'staging') return undefined;
  const path = leftover.kind === 'previous' ? leftover.path : join(leftover.path, SWAP_PREVIOUS);
  return (await exists(path)) ? path : undefined;
}

/**
 * The old trees killed runs left beside `target` (whether or not `target` exists): older copies of
 * it, which for the state are backups an operator can restore from.
 */
export async function findPreviousTrees(target: string): Promise<string[]> {
  const trees: string[] = [];
  for (const leftover of await leftoversOf(target)) {
    const previous = await previousTreeOf(leftover);
    if (previous) trees.push(previous);
  }
  return trees;
}

/**
 * Leftovers of a replaceDirectory that stopped between its two renames: the old tree, when `target`
 * is missing and one lies beside it (`previous/` in a `.<name>.swap-…` directory, or an older version's
 * `.<name>.previous-*`). For the state this is reported, never repaired silently.
 */
export async function findInterruptedReplace(target: string): Promise<string | undefined> {
  if (await exists(target)) return undefined;
  for (const leftover of await leftoversOf(target)) {
    const previous = await previousTreeOf(leftover);
    if (previous) return previous;
  }
  return undefined;
}

/**
 * For directories that can be rebuilt (outputs, never the state): when `target` is missing because a
 * run was killed between the two renames of its swap, finishes that swap (the new tree was complete
 * before the first rename) or, without a new tree, puts the old one back. Then removes the leftovers.
 */
export async function completeInterruptedReplace(target: string): Promise<void> {
  if (!(await exists(target))) {
    for (const leftover of await leftoversOf(target)) {
      if (mayBeInUse(leftover)) continue;
      const previous = await previousTreeOf(leftover);
      if (!previous) continue;
      const staged = leftover.kind === SWAP_INFIX ? join(leftover.path, SWAP_STAGING) : undefined;
      await fs.rename(staged && (await exists(staged)) ? staged : previous, target);
      await syncDirectory(dirname(target));
      break;
    }
  }
  await removeStaleStaging(target);
}

export interface RemoveStaleStagingOptions {
  /**
   * Keep every previous tree a killed run left, also beside a complete `target` (the state: such a
   * tree is an older copy of it, the backup an operator may need; only staging trees are removed).
   * @default false - previous trees go once `target` has content
   */
  readonly keepPreviousTrees?: boolean;
}

/**
 * Removes what killed runs left beside `target`: their swap directories (and an older version's
 * `.staging-*`/`.previous-*`), except the old tree of an interrupted swap while `target` is missing
 * or empty (findInterruptedReplace reports it), or always with `keepPreviousTrees`. Leftovers of a
 * run that is still alive stay.
 */
export async function removeStaleStaging(target: string, options: RemoveStaleStagingOptions = {}): Promise<void> {
  let targetHasContent: boolean;
  try {
    targetHasContent = readdirSync(target).length > 0;
  } catch {
    targetHasContent = false;
  }
  for (const leftover of await leftoversOf(target)) {
    if (mayBeInUse(leftover)) continue;
    if ((options.keepPreviousTrees || !targetHasContent) && (await previousTreeOf(leftover))) continue;
    await fs.rm(leftover.path, { recursive: true, force: true });
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

async function syncDirectory(path: string): Promise<void> {
  const handle = await fs.open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** fsync of every directory under `root` and of `root` itself, all at once. */
async function syncTree(root: string): Promise<void> {
  const directories = [root];
  for (const entry of await fs.readdir(root, { withFileTypes: true, recursive: true })) {
    if (entry.isDirectory()) directories.push(join(entry.parentPath, entry.name));
  }
  await Promise.all(directories.map((directory) => syncDirectory(directory)));
}
