import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * Everything under `root` without following symbolic links: `path → "dir MODE"`, `"file MODE SHA256"`
 * or `"link TARGET"`. Equal before and after exactly when nothing under `root` was created, removed,
 * changed or chmod-ed. A missing root is `{}`.
 */
export function snapshotTree(root: string): Record<string, string> {
  const entries: Record<string, string> = {};
  if (!existsSync(root) && !isLink(root)) return entries;
  const walk = (path: string) => {
    const stat = lstatSync(path);
    const key = relative(root, path) || '.';
    const mode = (stat.mode & 0o7777).toString(8);
    if (stat.isSymbolicLink()) entries[key] = `link ${readlinkSync(path)}`;
    else if (stat.isDirectory()) {
      entries[`${key}/`] = `dir ${mode}`;
      for (const name of readdirSync(path).sort()) walk(join(path, name));
    } else entries[key] = `file ${mode} ${createHash('sha256').update(readFileSync(path)).digest('hex')}`;
  };
  walk(root);
  return entries;
}

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}
