import { lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** A file an output directory must hold: its path inside the directory, its bytes, its mode. */
export interface ExpectedFile {
  readonly path: string;
  readonly content: string | Uint8Array;
  readonly mode: number;
}

/**
 * Whether `directory` already holds exactly `files` and nothing else: the same paths, the same bytes,
 * the same modes, and every directory in it with `directoryMode`. Then a synth that would write the
 * same tree again leaves it alone — no swap, no new inodes, no changed times for `kubectl diff`,
 * rsync or a file watcher — and the run costs reads instead of writes. Anything else (a missing,
 * extra or edited file, a changed mode, a symbolic link inside, a directory that cannot be read)
 * answers false, and the caller replaces the directory as before.
 */
export async function outputDirectoryIsCurrent(directory: string, files: readonly ExpectedFile[], directoryMode: number): Promise<boolean> {
  const expected = new Map(files.map((file) => [file.path, file]));
  try {
    // Synchronously: a few dozen small files, where each asynchronous read was a thread pool round trip.
    const found = listTree(directory, '', directoryMode);
    if (found === undefined || found.length !== expected.size) return false;
    return found.every((path) => {
      const file = expected.get(path);
      if (file === undefined) return false;
      const absolute = join(directory, path);
      const stat = lstatSync(absolute);
      if (!stat.isFile() || (stat.mode & 0o7777) !== file.mode) return false;
      return readFileSync(absolute).equals(typeof file.content === 'string' ? Buffer.from(file.content, 'utf8') : file.content);
    });
  } catch {
    return false;
  }
}

/** The files under `root/prefix` (paths with `/`), or undefined when something in it is neither a plain file nor a directory with `directoryMode`. */
function listTree(root: string, prefix: string, directoryMode: number): string[] | undefined {
  const directory = join(root, prefix);
  // The directory itself may be a symbolic link (an output is written through one); nothing below it may.
  const stat = prefix ? lstatSync(directory) : statSync(directory);
  if (!stat.isDirectory() || (stat.mode & 0o7777) !== directoryMode) return undefined;
  const files: string[] = [];
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) {
      const inner = listTree(root, path, directoryMode);
      if (inner === undefined) return undefined;
      files.push(...inner);
    } else if (entry.isFile()) {
      files.push(path);
    } else {
      return undefined;
    }
  }
  return files;
}
