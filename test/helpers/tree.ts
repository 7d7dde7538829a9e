import { readdirSync, readFileSync, statSync } from 'node:fs';
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
