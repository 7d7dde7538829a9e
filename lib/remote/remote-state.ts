import { createHash } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import * as z from 'zod';
import { mapConcurrently } from '../concurrent-map';
import { StateError } from '../errors';
import type { ObsObjects } from './obs-objects';
import type { HeldRemoteLock } from './remote-lock';

/**
 * The remote state of one environment, under `<state.prefix>/<env>/` in the bucket:
 *
 * - `objects/<sha256>`: the bytes of each state file, named by their SHA-256. Written once, never
 *   overwritten or deleted, so every head ever written stays readable.
 * - `head.json`: which file of the state is which object (path → SHA-256, the state's manifest and
 *   ceremony log included), the generation, and the SHA-256 of the head it replaced. A commit
 *   writes the missing objects first and the head last; a reader trusts only what the head lists and
 *   checks every object against its hash. A push killed before the head is written leaves the remote
 *   at the previous head. The bucket is versioned, so every earlier head stays as an object version.
 * - `lock/`: the claims of the remote lock (remote-lock.ts).
 */
export const REMOTE_HEAD_FORMAT = 'sigstore-cdk/remote-state/v1';

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);
const statePath = z.string().regex(/^[a-z0-9][a-z0-9._-]*(\/[a-z0-9][a-z0-9._-]*)*$/);

export const remoteHeadSchema = z.strictObject({
  format: z.literal(REMOTE_HEAD_FORMAT),
  env: z.string(),
  /** 1 for the first push, one more for each push after it. */
  generation: z.number().int().min(1),
  /** SHA-256 of the head this one replaced; null for generation 1. */
  parent: sha256Hex.nullable(),
  pushedAt: z.iso.datetime(),
  /** `user@host` of the push (not a secret: who to ask). */
  pushedBy: z.string(),
  /** Every file of the state directory: path → SHA-256 of its bytes. */
  files: z.record(statePath, sha256Hex),
});

export type RemoteHead = z.output<typeof remoteHeadSchema>;

/** A head as read: its content and the SHA-256 of its bytes (what a working copy records it by). */
export interface ReadHead {
  readonly head: RemoteHead;
  readonly digest: string;
}

/**
 * Object reads or writes a pull or a push keeps in flight at once. One at a time, a state of ~50
 * files costs ~50 round trips to OBS in sequence (seconds from a CI runner); the S3 client's agent
 * allows 50 sockets (@smithy/node-http-handler's default agent, maxSockets = 50 in dist-cjs/index.js),
 * and 8 keeps a pull's memory and the bucket's request rate modest.
 */
export const OBJECT_TRANSFERS = 8;

export const headKey = (objects: ObsObjects) => `${objects.location.prefix}head.json`;
const objectKey = (objects: ObsObjects, digest: string) => `${objects.location.prefix}objects/${digest}`;

/** The current head, or undefined when the remote holds no state. A head that is not one is STATE_REMOTE_CORRUPT. */
export async function readHead(objects: ObsObjects): Promise<ReadHead | undefined> {
  const bytes = await objects.get(headKey(objects));
  if (!bytes) return undefined;
  let data: unknown;
  try {
    data = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw corrupt(objects, `${headKey(objects)} is not JSON`);
  }
  const parsed = remoteHeadSchema.safeParse(data);
  if (!parsed.success) {
    throw corrupt(objects, `${headKey(objects)} is not a ${REMOTE_HEAD_FORMAT} head: ${parsed.error.issues.map((issue) => `${issue.path.join('.') || '(top level)'}: ${issue.message}`).join('; ')}`);
  }
  if (parsed.data.env !== objects.location.env) throw corrupt(objects, `${headKey(objects)} is the head of environment "${parsed.data.env}", not "${objects.location.env}"`);
  return { head: parsed.data, digest: sha256(bytes) };
}

/** Every file the head lists, each checked against its SHA-256. */
export async function fetchFiles(objects: ObsObjects, head: RemoteHead): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  const problems: string[] = [];
  const listed = Object.entries(head.files);
  const fetched = await mapConcurrently(listed, OBJECT_TRANSFERS, ([, digest]) => objects.get(objectKey(objects, digest)));
  for (const [index, [path, digest]] of listed.entries()) {
    const bytes = fetched[index];
    if (!bytes) problems.push(`${path}: object ${objectKey(objects, digest)} is missing`);
    else if (sha256(bytes) !== digest) problems.push(`${path}: object ${objectKey(objects, digest)} does not match its SHA-256`);
    else files.set(path, bytes);
  }
  if (problems.length > 0) throw corrupt(objects, `generation ${head.generation} does not match its head:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
  return files;
}

/** path → SHA-256 of each file. */
export function digestsOf(files: ReadonlyMap<string, Buffer>): Record<string, string> {
  return Object.fromEntries([...files.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([path, bytes]) => [path, sha256(bytes)]));
}

/** Whether two path → SHA-256 maps name the same files with the same bytes. */
export function sameFiles(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => a[key] === b[key]);
}

/**
 * Writes `files` as the next generation after `parent` (undefined: the first), holding `lock`: the
 * objects the remote lacks, then (after checking the lock is still held and the head is still
 * `parent`) the head, which is then read back. Returns the new head.
 */
export async function writeGeneration(
  objects: ObsObjects,
  lock: HeldRemoteLock,
  files: ReadonlyMap<string, Buffer>,
  parent: ReadHead | undefined,
  clock: () => Date = () => new Date(),
): Promise<ReadHead> {
  const existing = new Set((await objects.list(`${objects.location.prefix}objects/`)).map((entry) => entry.key));
  const digests = digestsOf(files);
  // One upload per content the remote lacks (files with the same bytes share an object).
  const missing = new Map<string, Buffer>();
  for (const [path, digest] of Object.entries(digests)) {
    const key = objectKey(objects, digest);
    if (!existing.has(key) && !missing.has(key)) missing.set(key, files.get(path)!);
  }
  await mapConcurrently([...missing], OBJECT_TRANSFERS, ([key, bytes]) => objects.put(key, bytes));
  const head: RemoteHead = {
    format: REMOTE_HEAD_FORMAT,
    env: objects.location.env,
    generation: (parent?.head.generation ?? 0) + 1,
    parent: parent?.digest ?? null,
    pushedAt: clock().toISOString(),
    pushedBy: operator(),
    files: digests,
  };
  const bytes = Buffer.from(`${JSON.stringify(head, null, 2)}\n`);
  await lock.assertHeld();
  const current = await readHead(objects);
  if (current?.digest !== parent?.digest) {
    throw new StateError(
      'STATE_REMOTE_CHANGED',
      `the remote state changed while this push ran (now generation ${current?.head.generation ?? 'none'}); nothing was published. Run "sigstore-cdk state pull" and try again`,
    );
  }
  await objects.put(headKey(objects), bytes, 'application/json');
  const written = await objects.get(headKey(objects));
  if (!written || !written.equals(bytes)) {
    throw new StateError(
      'STATE_REMOTE_CHANGED',
      `the head of the remote state was replaced by another writer right after this push wrote generation ${head.generation}: ` +
        'someone writes the bucket without the lock. Run "sigstore-cdk state status" and compare',
    );
  }
  return { head, digest: sha256(bytes) };
}

function corrupt(objects: ObsObjects, detail: string): StateError {
  return new StateError(
    'STATE_REMOTE_CORRUPT',
    `the remote state obs://${objects.location.bucket}/${objects.location.prefix} is damaged: ${detail}. Nothing was changed; ` +
      'an earlier head is kept as a noncurrent version of head.json (the bucket is versioned)',
  );
}

export function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function operator(): string {
  let user = 'unknown';
  try {
    user = process.env.SIGSTORE_CDK_OPERATOR || userInfo().username;
  } catch {
    // no passwd entry (a container): keep "unknown"
  }
  return `${user}@${hostname()}`;
}
