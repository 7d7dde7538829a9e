import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * Every file and directory under `root` with its mode and, for files, the SHA-256 of its bytes: two
 * snapshots are equal exactly when nothing under `root` was created, removed, changed or chmod-ed.
 * A missing root is an empty snapshot.
 */
export function treeSnapshot(root: string): Record<string, string> {
  const entries: Record<string, string> = {};
  if (!existsSync(root)) return entries;
  const walk = (path: string) => {
    const stat = statSync(path);
    const name = relative(root, path) || '.';
    const mode = (stat.mode & 0o777).toString(8);
    if (stat.isDirectory()) {
      entries[`${name}/`] = mode;
      for (const child of readdirSync(path).sort()) walk(join(path, child));
    } else {
      entries[name] = `${mode} ${createHash('sha256').update(readFileSync(path)).digest('hex')}`;
    }
  };
  walk(root);
  return entries;
}
