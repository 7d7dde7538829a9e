import { randomUUID } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import { StateError } from '../errors';
import type { ListedObject, ObsObjects } from './obs-objects';

/**
 * The remote state's lock, for operators on different machines. OBS has no conditional write (no
 * If-None-Match on PUT): its API reference ("Concurrent Operation Consistency",
 * docs.otc.t-systems.com/en-us/api_obs/obs/en-us_topic_0031666038.html) says concurrent uploads of
 * one object simply replace each other and that applications must bring their own lock, and that a
 * successful write or delete is seen by every later read. So the lock never overwrites a shared
 * object; it relies only on that read-after-write guarantee:
 *
 * - Each contender writes a claim of its own, `<prefix>lock/<owner id>.json` (owner id, host, pid,
 *   user, time), then lists `<prefix>lock/`. It holds the lock only if the listing shows no live claim
 *   but its own. Two contenders cannot both see themselves alone: whichever listed second had written
 *   its claim before it listed, after the first's claim was written (each writes before it lists).
 *   When claims collide, every contender deletes its own and retries after a random pause.
 * - The holder rewrites its claim every ttl/3. A claim is stale when the server's clock (the
 *   LastModified of the contender's fresh claim against the other's) says it was not rewritten for
 *   `ttl`, or when the contender has watched it unchanged for `ttl` on its own clock. A stale claim is
 *   deleted, and the takeover names whose claim it was.
 * - The holder checks, before it changes the remote, that its claim is still there and that it
 *   refreshed it within 3/4 of the ttl; otherwise it stops with STATE_REMOTE_LOCK_LOST.
 */
export interface RemoteLockOptions {
  /** A claim not rewritten for this long is stale. */
  readonly ttlMs: number;
  /** How long to wait for another machine's lock before failing with STATE_REMOTE_LOCKED. @default 30 s */
  readonly waitMs?: number;
  /** What the lock is for, in the claim (e.g. `state push`). */
  readonly purpose: string;
  /** Told once when this run starts to wait, who holds the lock. */
  readonly onWait?: (holder: string) => void;
  /** Told when a stale claim is taken over, whose it was. */
  readonly onTakeover?: (previous: string) => void;
  /** @default - setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** What a claim object holds. */
export interface RemoteLockClaim {
  readonly owner: string;
  readonly host: string;
  readonly pid: number;
  readonly user: string;
  /** When the claim was first written, on the claimant's clock (ISO 8601). */
  readonly since: string;
  readonly purpose: string;
}

export interface HeldRemoteLock {
  readonly claim: RemoteLockClaim;
  /** Throws STATE_REMOTE_LOCK_LOST unless this run's claim is still there and fresh. */
  assertHeld(): Promise<void>;
  /** Stops refreshing and deletes the claim. */
  release(): Promise<void>;
}

const DEFAULT_WAIT_MS = 30_000;

export async function acquireRemoteLock(objects: ObsObjects, options: RemoteLockOptions): Promise<HeldRemoteLock> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const lockPrefix = `${objects.location.prefix}lock/`;
  const claim: RemoteLockClaim = {
    owner: randomUUID(),
    host: hostname(),
    pid: process.pid,
    user: safeUser(),
    since: new Date().toISOString(),
    purpose: options.purpose,
  };
  const myKey = `${lockPrefix}${claim.owner}.json`;
  const body = `${JSON.stringify(claim)}\n`;
  const deadline = Date.now() + (options.waitMs ?? DEFAULT_WAIT_MS);
  /** Other claims as first seen by this run: key → (LastModified, when this run first saw that LastModified). */
  const watched = new Map<string, { lastModified: number; since: number }>();
  let toldWaiting = false;
  for (;;) {
    await objects.put(myKey, body, 'application/json');
    const claims = await objects.list(lockPrefix);
    const mine = claims.find((entry) => entry.key === myKey);
    const others = claims.filter((entry) => entry.key !== myKey);
    const live: ListedObject[] = [];
    for (const other of others) {
      const seen = watched.get(other.key);
      const lastModified = other.lastModified.getTime();
      if (!seen || seen.lastModified !== lastModified) watched.set(other.key, { lastModified, since: Date.now() });
      const serverAge = mine ? mine.lastModified.getTime() - lastModified : 0;
      const watchedAge = Date.now() - watched.get(other.key)!.since;
      if (serverAge > options.ttlMs || watchedAge > options.ttlMs) {
        const previous = await describeClaim(objects, other);
        await objects.delete(other.key);
        watched.delete(other.key);
        options.onTakeover?.(`${previous}, not refreshed for ${Math.round(Math.max(serverAge, watchedAge) / 1000)} s`);
      } else {
        live.push(other);
      }
    }
    if (mine && live.length === 0 && others.length === live.length) {
      return holdLock(objects, myKey, body, claim, options.ttlMs);
    }
    if (mine && live.length === 0) continue; // stale claims were removed: list again before holding
    await objects.delete(myKey);
    if (Date.now() >= deadline) {
      const holders = await Promise.all(live.map((entry) => describeClaim(objects, entry)));
      throw new StateError(
        'STATE_REMOTE_LOCKED',
        `the remote state obs://${objects.location.bucket}/${objects.location.prefix} is locked by ${holders.join(' and ') || 'another run'}; ` +
          `waited ${Math.round((options.waitMs ?? DEFAULT_WAIT_MS) / 1000)} s. Nothing was changed. Run again once it is done ` +
          `(a claim not refreshed for ${Math.round(options.ttlMs / 1000)} s is taken over)`,
      );
    }
    if (!toldWaiting && live.length > 0) {
      toldWaiting = true;
      options.onWait?.((await Promise.all(live.map((entry) => describeClaim(objects, entry)))).join(' and '));
    }
    await sleep(200 + Math.random() * 600);
  }
}

function holdLock(objects: ObsObjects, key: string, body: string, claim: RemoteLockClaim, ttlMs: number): HeldRemoteLock {
  let lastRefresh = Date.now();
  let lost: string | undefined;
  let released = false;
  const refresh = async () => {
    if (released || lost) return;
    if (!(await objects.exists(key))) {
      lost = 'its claim was deleted (taken over as stale by another run)';
      return;
    }
    await objects.put(key, body, 'application/json');
    lastRefresh = Date.now();
  };
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    running ??= refresh()
      .catch(() => {}) // a failed refresh shows as an old lastRefresh
      .finally(() => (running = undefined));
  }, Math.max(1000, Math.floor(ttlMs / 3)));
  timer.unref();
  return {
    claim,
    async assertHeld() {
      await running;
      const age = Date.now() - lastRefresh;
      if (!lost && age > (ttlMs * 3) / 4) lost = `it was last refreshed ${Math.round(age / 1000)} s ago (the ttl is ${Math.round(ttlMs / 1000)} s)`;
      if (!lost && !(await objects.exists(key))) lost = 'its claim was deleted (taken over as stale by another run)';
      if (lost) {
        throw new StateError(
          'STATE_REMOTE_LOCK_LOST',
          `this run's lock on the remote state obs://${objects.location.bucket}/${objects.location.prefix} is lost: ${lost}. ` +
            'Nothing more was written to the remote; run the command again',
        );
      }
    },
    async release() {
      released = true;
      clearInterval(timer);
      await running;
      await objects.delete(key);
    },
  };
}

async function describeClaim(objects: ObsObjects, entry: ListedObject): Promise<string> {
  const text = await objects.get(entry.key).catch(() => undefined);
  try {
    const claim = JSON.parse(text?.toString('utf8') ?? '') as RemoteLockClaim;
    return `${claim.user}@${claim.host} (pid ${claim.pid}, ${claim.purpose}, since ${claim.since})`;
  } catch {
    return `an unreadable claim ${entry.key} (last written ${entry.lastModified.toISOString()})`;
  }
}

function safeUser(): string {
  try {
    return process.env.SIGSTORE_CDK_OPERATOR || userInfo().username;
  } catch {
    return 'unknown';
  }
}
