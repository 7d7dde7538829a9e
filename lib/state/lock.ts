import { randomBytes } from 'node:crypto';
import { promises as fs, readFileSync, readlinkSync, type Stats } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { StateError } from '../errors';

/**
 * A lock file that one run holds at a time, across processes, containers and hosts sharing the
 * directory. Why not `proper-lockfile`: its stale takeover is `rmdir` + `mkdir`, so two runs that
 * both judge a lock stale can both end up holding it (moxystudio/node-proper-lockfile#121, open;
 * npm's `lockfile` has the same race, npm/lockfile#4), and a holder that lost its lock learns it
 * only from a timer, seconds later. Here:
 *
 * - The lock file is created complete or not at all: its content is written to a private temporary
 *   file that is then hard-linked to the lock's name, which fails if the name exists.
 * - The holder refreshes the file's mtime every `refreshMs`. A lock is stale when a waiting run has
 *   watched it for `staleMs` without it changing (its holder is gone or hung, whatever its host or
 *   container; measured on the waiter's own clock, so clocks that disagree between hosts do not
 *   matter), when its mtime is more than ten minutes old, or at once when its owner is a process of
 *   this very machine and pid namespace (same host, boot id and `/proc/self/ns/pid`) that no longer
 *   exists. A pid from another container proves nothing here, alive or not.
 * - A stale lock is taken over by renaming it to a name of the taker's own: one rename wins. The
 *   taker then checks that what it took is the stale lock it saw (inode, mtime, content); if a
 *   fresh lock had replaced it meanwhile, it is put back. Only then does the taker create its own.
 * - A holder checks that the lock file is still its own (its random token) before every commit;
 *   one whose lock was taken over stops with STATE_LOCK_LOST before it writes anything.
 */
export interface LockOwner {
  readonly pid: number;
  readonly host: string;
  /** When the lock was taken (ISO 8601). */
  readonly since: string;
  /** Random, new for each acquisition: how a holder recognises its own lock file. */
  readonly token: string;
  /** Linux `/proc/sys/kernel/random/boot_id`: a pid means something only within one boot… */
  readonly bootId?: string;
  /** …and one pid namespace (`readlink /proc/self/ns/pid`): a container has its own. */
  readonly pidNamespace?: string;
}

export interface LockOptions {
  /** How long to wait for a lock that another run holds before failing with STATE_LOCKED. @default 30 s */
  readonly waitMs?: number;
  /** A lock file that a waiting run sees unchanged (not refreshed) for this long is stale and is taken over. @default 15 s */
  readonly staleMs?: number;
  /** How often the holder refreshes its lock file. @default 2.5 s */
  readonly refreshMs?: number;
  /** Told once, when this run starts to wait, who holds the lock. @default - nothing */
  readonly onWait?: (holder: string) => void;
}

/** A lock this run holds. */
export interface HeldLock {
  readonly path: string;
  readonly owner: LockOwner;
  /** Refreshes the lock and throws STATE_LOCK_LOST unless the lock file is still this run's. */
  assertHeld(): Promise<void>;
  /** Stops refreshing and removes the lock file if it is still this run's. */
  release(): Promise<void>;
}

export const DEFAULT_LOCK_WAIT_MS = 30_000;
export const DEFAULT_LOCK_STALE_MS = 15_000;
const DEFAULT_REFRESH_MS = 2_500;
/** A lock file this old is stale at once: far beyond any refresh, and beyond clock differences between hosts. */
const STALE_AGE_MS = 10 * 60_000;

/**
 * Takes the lock at `path`, waiting up to `waitMs` for a holder that is alive; `subject` names what
 * the lock protects in messages (e.g. `state .sigstore/dev`). File system errors are thrown as they
 * are (the caller maps them).
 */
export async function acquireLock(path: string, subject: string, options: LockOptions = {}): Promise<HeldLock> {
  const waitMs = options.waitMs ?? DEFAULT_LOCK_WAIT_MS;
  const staleMs = options.staleMs ?? DEFAULT_LOCK_STALE_MS;
  const refreshMs = options.refreshMs ?? Math.min(DEFAULT_REFRESH_MS, staleMs / 4);
  const token = randomBytes(16).toString('hex');
  const deadline = Date.now() + waitMs;
  let told = false;
  let watched: { seen: SeenLock; since: number } | undefined;
  for (;;) {
    const owner: LockOwner = { pid: process.pid, host: hostname(), since: new Date().toISOString(), token, ...machine() };
    if (await createExclusive(path, Buffer.from(`${JSON.stringify(owner)}\n`), token)) {
      await removeLeftovers(path);
      return holdLock(path, subject, owner, refreshMs);
    }
    const seen = await inspect(path);
    if (!seen) continue; // released meanwhile: try again at once
    if (!watched || !sameLock(watched.seen, seen)) watched = { seen, since: Date.now() };
    if (staleness(seen, Date.now() - watched.since, staleMs)) {
      await takeOver(path, seen, token);
      await sleep(Math.random() * 10); // let one taker through first
      continue;
    }
    if (Date.now() >= deadline) throw lockedError(path, subject, seen, waitMs, staleMs);
    if (!told) options.onWait?.(describe(seen));
    told = true;
    await sleep(50 + Math.random() * 100);
  }
}

/** What is at the lock's path: the bytes and the file's identity, read consistently. */
interface SeenLock {
  readonly ino: number;
  readonly mtimeMs: number;
  readonly bytes: Buffer;
  /** Undefined when the file is empty or not a lock sigstore-cdk wrote (e.g. killed while writing). */
  readonly owner?: Partial<LockOwner> & { pid: number };
}

async function inspect(path: string): Promise<SeenLock | undefined> {
  for (let attempt = 0; attempt < 5; attempt++) {
    let before: Stats;
    let bytes: Buffer;
    let after: Stats;
    try {
      before = await fs.stat(path);
      bytes = await fs.readFile(path);
      after = await fs.stat(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    if (before.ino === after.ino && before.mtimeMs === after.mtimeMs) return { ino: after.ino, mtimeMs: after.mtimeMs, bytes, owner: parseOwner(bytes) };
  }
  return undefined;
}

function parseOwner(bytes: Buffer): SeenLock['owner'] {
  try {
    const owner = JSON.parse(bytes.toString('utf8'));
    return typeof owner?.pid === 'number' && Number.isInteger(owner.pid) ? owner : undefined;
  } catch {
    return undefined;
  }
}

/** The same lock file, unchanged (not refreshed, not replaced). */
function sameLock(a: SeenLock, b: SeenLock): boolean {
  return a.ino === b.ino && a.mtimeMs === b.mtimeMs && a.bytes.equals(b.bytes);
}

/** Why `seen` is stale (unchanged for `unchangedMs` of this run's watching), or undefined when its holder may be alive. */
function staleness(seen: SeenLock, unchangedMs: number, staleMs: number): string | undefined {
  if (unchangedMs >= staleMs) return `not refreshed for ${seconds(unchangedMs)}`;
  const age = Date.now() - seen.mtimeMs;
  if (age > Math.max(STALE_AGE_MS, staleMs)) return `not refreshed for ${seconds(age)}`;
  const owner = seen.owner;
  if (owner?.token && owner.pid > 0 && owner.host === hostname() && sameMachine(owner) && !processAlive(owner.pid)) return `its process ${owner.pid} is gone`;
  return undefined;
}

/**
 * Removes the stale lock `seen`, unless another run did first: the rename lets one taker win, and
 * the winner gives back a fresh lock that replaced the stale one since it was seen.
 */
async function takeOver(path: string, seen: SeenLock, token: string): Promise<void> {
  const taken = sidePath(path, token, 'taken');
  try {
    await fs.rename(path, taken);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return; // another taker was faster
    throw error;
  }
  try {
    const got = await inspect(taken);
    if (!got || sameLock(got, seen)) return;
    // A fresh lock replaced the stale one after we looked: put it back, same file (if someone
    // created a lock meanwhile, the holder of this one has lost it and will stop before committing).
    await linkOrCopy(taken, path, got.bytes);
  } finally {
    await fs.rm(taken, { force: true });
  }
}

function holdLock(path: string, subject: string, owner: LockOwner, refreshMs: number): HeldLock {
  let lost: SeenLock | 'missing' | undefined;
    let running: Promise<void> = Promise.resolve();
  const refresh = async (): Promise<void> => {
    const current = await inspect(path);
    if (current?.owner?.token !== owner.token) {
      lost ??= current ?? 'missing';
      return;
    }
    const now = new Date();
    await fs.utimes(path, now, now);
  };
  const timer = setInterval(() => {
    running = running.then(refresh).catch(() => {}); // a failed refresh is retried; assertHeld reports it
  }, refreshMs);
  timer.unref();
  return {
    path,
    owner,
    async assertHeld() {
      await running;
      await refresh();
      if (lost !== undefined) {
        throw new StateError(
          'STATE_LOCK_LOST',
          `${subject}: the lock of this run (pid ${owner.pid}) was taken over by ${lost === 'missing' ? `another run (${path} is gone)` : describe(lost)}, ` +
            'which judged it stale; nothing was written by this run. Run it again: it starts from the state the other run leaves',
        );
      }
    },
    async release() {
      clearInterval(timer);
      await running;
      if ((await inspect(path))?.owner?.token !== owner.token) return; // taken over: not ours to remove
      const released = sidePath(path, owner.token, 'released');
      try {
        await fs.rename(path, released);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw error;
      }
      try {
        const got = await inspect(released);
        if (got && got.owner?.token !== owner.token) await linkOrCopy(released, path, got.bytes); // not ours: give it back
      } finally {
        await fs.rm(released, { force: true });
      }
    },
  };
}

/** Creates `path` with `content`, complete, unless it exists (then false). */
async function createExclusive(path: string, content: Buffer, token: string): Promise<boolean> {
  const temporary = sidePath(path, token, `new-${randomBytes(4).toString('hex')}`);
  // A failure here (read-only, no permission, full) is named by the lock's path, not the temporary's.
  const handle = await fs.open(temporary, 'wx', 0o600).catch((error: NodeJS.ErrnoException) => {
    throw Object.assign(error, { path });
  });
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await fs.link(temporary, path);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (!NO_HARD_LINKS.has(code ?? '')) throw error;
    return createWithOpen(path, content); // a file system without hard links
  } finally {
    await fs.rm(temporary, { force: true });
  }
}

/** Error codes of `link` on file systems that have no hard links (some FUSE, SMB and FAT mounts). */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EMLINK']);

/** The fallback of `createExclusive`: O_EXCL, then the content (a crash between leaves an empty lock, which goes stale). */
async function createWithOpen(path: string, content: Buffer): Promise<boolean> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(path, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  return true;
}

/** Puts `from` back at `to` (same file if hard links work), unless something is at `to` already. */
async function linkOrCopy(from: string, to: string, content: Buffer): Promise<void> {
  try {
    await fs.link(from, to);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return;
    if (!NO_HARD_LINKS.has(code ?? '')) throw error;
    await createWithOpen(to, content);
  }
}

/** `.dev.lock.<token>.<what>` beside the lock: private to one run. */
function sidePath(path: string, token: string, what: string): string {
  return join(dirname(path), `.${basename(path)}.${token}.${what}`);
}

/** Removes side files (`.dev.lock.*`) that killed runs left behind, once they are older than any run holds one. */
async function removeLeftovers(path: string): Promise<void> {
  const prefix = `.${basename(path)}.`;
  let names: string[];
  try {
    names = await fs.readdir(dirname(path));
  } catch {
    return;
  }
  for (const name of names.filter((entry) => entry.startsWith(prefix))) {
    const side = join(dirname(path), name);
    const stat = await fs.stat(side).catch(() => undefined);
    if (stat && Date.now() - stat.mtimeMs > STALE_AGE_MS) await fs.rm(side, { force: true }).catch(() => {});
  }
}

function lockedError(path: string, subject: string, seen: SeenLock, waitMs: number, staleMs: number): StateError {
  return new StateError(
    'STATE_LOCKED',
    `${subject} is locked by ${describe(seen)}; waited ${seconds(waitMs)}. Wait for that run to finish and run again ` +
      `(SIGSTORE_CDK_LOCK_WAIT sets how many seconds to wait). If no run is active: a run that waits sees the lock unrefreshed ` +
      `for ${seconds(staleMs)} and takes it over, or remove ${path}`,
  );
}

/** Who holds a lock, for messages: `pid 123 on host since …, refreshed 2 s ago`. */
function describe(seen: SeenLock): string {
  const age = `refreshed ${seconds(Math.max(0, Date.now() - seen.mtimeMs))} ago`;
  const owner = seen.owner;
  if (!owner) return `a lock file that is ${seen.bytes.length === 0 ? 'empty' : 'not readable as a lock'} (${seen.bytes.length} bytes, ${age})`;
  return `pid ${owner.pid} on ${owner.host ?? 'an unknown host'} since ${owner.since ?? 'an unknown time'} (${age})`;
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

let thisMachine: Pick<LockOwner, 'bootId' | 'pidNamespace'> | undefined;

/** This process's boot id and pid namespace, where the system has them (Linux). */
function machine(): Pick<LockOwner, 'bootId' | 'pidNamespace'> {
  if (!thisMachine) {
    const read = (get: () => string) => {
      try {
        return get().trim() || undefined;
      } catch {
        return undefined;
      }
    };
    const bootId = read(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8'));
    const pidNamespace = read(() => readlinkSync('/proc/self/ns/pid'));
    thisMachine = { ...(bootId ? { bootId } : {}), ...(pidNamespace ? { pidNamespace } : {}) };
  }
  return thisMachine;
}

function sameMachine(owner: Partial<LockOwner>): boolean {
  const here = machine();
  return owner.bootId === here.bootId && owner.pidNamespace === here.pidNamespace;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
