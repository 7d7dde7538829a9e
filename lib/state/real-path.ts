import { readlinkSync, realpathSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

/**
 * `path` with every symbolic link resolved, also when it (or the target of a link on the way) does
 * not exist yet: the missing rest is appended to what exists. So `.sigstore -> /mnt/vol/sigstore`
 * gives `/mnt/vol/sigstore/dev` even before the first commit creates it. The calls are synchronous
 * (the same libuv realpath as fs.promises'): a synth resolves its paths eighteen times, and each
 * asynchronous call was a round trip through the thread pool.
 */
export async function resolveRealPath(path: string, hops = 0): Promise<string> {
  try {
    return realpathSync.native(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  let link: string | undefined;
  try {
    link = readlinkSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'ENOENT' && code !== 'ENOTDIR') throw error;
  }
  if (link !== undefined) {
    if (hops >= 40) throw Object.assign(new Error(`ELOOP: too many symbolic links, ${path}`), { code: 'ELOOP', path, syscall: 'readlink' });
    return resolveRealPath(resolve(dirname(path), link), hops + 1);
  }
  const parent = dirname(resolve(path));
  if (parent === resolve(path)) return resolve(path);
  return join(await resolveRealPath(parent, hops), basename(path));
}
