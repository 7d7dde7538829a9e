import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import * as z from 'zod';
import { StateError } from '../errors';
import { writeFileAtomic } from '../state/atomic';
import type { ObsStateLocation } from './obs-connection';
import type { ReadHead } from './remote-state';

/**
 * `<state root>/<env>.remote.json`: which remote generation the working copy `.sigstore/<env>/` was
 * last pulled from or pushed as, and the files it had then. A push refuses a remote whose head is no
 * longer this one (another machine pushed since: no lost update); a pull refuses a working copy whose
 * files are no longer these (changes that were never pushed).
 */
const baseSchema = z.strictObject({
  format: z.literal('sigstore-cdk/working-copy/v1'),
  env: z.string(),
  bucket: z.string(),
  prefix: z.string(),
  generation: z.number().int().min(1),
  /** SHA-256 of the head's bytes. */
  head: z.string().regex(/^[0-9a-f]{64}$/),
  files: z.record(z.string(), z.string().regex(/^[0-9a-f]{64}$/)),
});

export type WorkingCopyBase = z.output<typeof baseSchema>;

export const basePath = (stateRoot: string, env: string) => join(stateRoot, `${env}.remote.json`);

/** The recorded base, or undefined when this working copy was never pulled or pushed (or for another bucket). */
export async function readBase(stateRoot: string, location: ObsStateLocation): Promise<WorkingCopyBase | undefined> {
  const path = basePath(stateRoot, location.env);
  let text: string;
  try {
    text = await fs.readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let parsed;
  try {
    parsed = baseSchema.safeParse(JSON.parse(text));
  } catch {
    parsed = undefined;
  }
  if (!parsed?.success) throw new StateError('STATE_CORRUPT', `${path} is not a working-copy record; move it aside and run "sigstore-cdk state pull --env ${location.env}"`);
  if (parsed.data.bucket !== location.bucket || parsed.data.prefix !== location.prefix) return undefined;
  return parsed.data;
}

export async function writeBase(stateRoot: string, location: ObsStateLocation, head: ReadHead): Promise<void> {
  await fs.mkdir(stateRoot, { recursive: true, mode: 0o700 });
  const base: WorkingCopyBase = {
    format: 'sigstore-cdk/working-copy/v1',
    env: location.env,
    bucket: location.bucket,
    prefix: location.prefix,
    generation: head.head.generation,
    head: head.digest,
    files: head.head.files,
  };
  await writeFileAtomic(basePath(stateRoot, location.env), `${JSON.stringify(base, null, 2)}\n`);
}
