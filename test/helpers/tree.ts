import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

export interface TreeEntry {
  readonly mode: number;
  readonly sha?: string;
  readonly bytes?: Buffer;
  readonly mtimeMs: number;
}

/** Every file and directory under `root`: mode, bytes (files), mtime. For before/after comparisons. */
export function readTree(root: string): Map<string, TreeEntry> {
  const entries = new Map<string, TreeEntry>();
  const walk = (path: string) => {
    const stat = statSync(path);
    const key = relative(root, path) || '.';
    if (stat.isDirectory()) {
      entries.set(`${key}/`, { mode: stat.mode & 0o777, mtimeMs: stat.mtimeMs });
      for (const name of readdirSync(path).sort()) walk(join(path, name));
    } else {
      entries.set(key, { mode: stat.mode & 0o777, bytes: readFileSync(path), mtimeMs: stat.mtimeMs });
    }
  };
  walk(root);
  return entries;
}

/**
 * What is under `root`, without times: `path → mode` for directories, `path → mode sha256` for files.
 * Equal before and after exactly when nothing was created, removed, changed or chmod-ed (a lock file
 * created and removed again leaves it equal). A missing root is `{}`.
 */
export function treeContents(root: string): Record<string, string> {
  if (!existsSync(root)) return {};
  return Object.fromEntries(
    [...readTree(root)].map(([path, entry]) => [
      path,
      entry.bytes ? `${entry.mode.toString(8)} ${createHash('sha256').update(entry.bytes).digest('hex')}` : entry.mode.toString(8),
    ]),
  );
}

/** Every file under `directory` (not the directories): relative path → bytes as base64. For byte-for-byte comparisons. */
export function fileContents(directory: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (path: string) => {
    for (const name of readdirSync(path)) {
      const full = join(path, name);
      if (statSync(full).isDirectory()) walk(full);
      else files[relative(directory, full)] = readFileSync(full).toString('base64');
    }
  };
  walk(directory);
  return files;
}
