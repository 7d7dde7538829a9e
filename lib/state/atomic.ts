import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
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

export interface ReplaceDirectoryOptions {
  /** Mode of the new directory. @default 0o700 */
  readonly mode?: number;
}

/**
 * Replaces `target` with a directory produced by `build`, so that readers see either the old tree
 * or the complete new one. `build` fills a staging sibling; if it throws, the staging directory is
 * removed and `target` is untouched. The swap is two renames (target → previous, staging → target);
 * a crash between them leaves `.<name>.previous-*` beside a missing target, which
 * `findInterruptedReplace` reports.
 */
export async function replaceDirectory(
  target: string,
  build: (staging: string) => Promise<void>,
  options: ReplaceDirectoryOptions = {},
): Promise<void> {
  const parent = dirname(target);
  await fs.mkdir(parent, { recursive: true, mode: PRIVATE_DIR_MODE });
  const staging = join(parent, `.${basename(target)}.staging-${uniqueSuffix()}`);
  await fs.mkdir(staging, { mode: options.mode ?? PRIVATE_DIR_MODE });
  await fs.chmod(staging, options.mode ?? PRIVATE_DIR_MODE);
  try {
    await build(staging);
    await syncTree(staging);
  } catch (error) {
    await fs.rm(staging, { recursive: true, force: true });
    throw error;
  }
  const previous = join(parent, `.${basename(target)}.previous-${uniqueSuffix()}`);
  let hadPrevious = true;
  try {
    await fs.rename(target, previous);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      await fs.rm(staging, { recursive: true, force: true });
      throw error;
    }
    hadPrevious = false;
  }
  await fs.rename(staging, target);
  await syncDirectory(parent);
  if (hadPrevious) await fs.rm(previous, { recursive: true, force: true });
}

/** Leftovers of a replaceDirectory that stopped between its two renames (target missing). */
export async function findInterruptedReplace(target: string): Promise<string | undefined> {
  const parent = dirname(target);
  let names: string[];
  try {
    names = await fs.readdir(parent);
  } catch {
    return undefined;
  }
  const prefix = `.${basename(target)}.previous-`;
  const leftover = names.find((name) => name.startsWith(prefix));
  return leftover ? join(parent, leftover) : undefined;
}

/** Removes staging directories that a killed run left behind (never the target or a previous copy). */
export async function removeStaleStaging(target: string): Promise<void> {
  const parent = dirname(target);
  let names: string[];
  try {
    names = await fs.readdir(parent);
  } catch {
    return;
  }
  const prefix = `.${basename(target)}.staging-`;
  await Promise.all(names.filter((name) => name.startsWith(prefix)).map((name) => fs.rm(join(parent, name), { recursive: true, force: true })));
}

async function syncDirectory(path: string): Promise<void> {
  const handle = await fs.open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function syncTree(root: string): Promise<void> {
  const entries = await fs.readdir(root, { withFileTypes: true });
  for (const entry of entries) {
    if (entry.isDirectory()) await syncTree(join(root, entry.name));
  }
  await syncDirectory(root);
}
