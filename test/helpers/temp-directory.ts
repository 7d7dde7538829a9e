import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh temporary directory per test, removed after it. */
export function useTempDirectory(prefix = 'sigstore-cdk-'): () => string {
  let directory: string | undefined;
  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), prefix));
  });
  afterEach(() => {
    if (directory) rmSync(directory, { recursive: true, force: true });
    directory = undefined;
  });
  return () => {
    if (!directory) throw new Error('useTempDirectory: only available inside a test');
    return directory;
  };
}

/**
 * The outdir of a cdk8s app that a test synthesizes in memory only (`Testing.synth`): cdk8s's
 * `Testing.app()` otherwise makes a temporary directory that nothing removes (hundreds per
 * `npm test`). A path below /dev/null, so that an app that did write there would fail at once.
 */
export const IN_MEMORY_OUTDIR = '/dev/null/in-memory-app';

/**
 * The same for a cdktf app, whose constructor creates its outdir (and an empty `stacks/` in it): one
 * directory for all of them, instead of one per app; nothing is written into it (their stacks are
 * synthesized in memory).
 */
export const CDKTF_IN_MEMORY_OUTDIR = join(tmpdir(), 'sigstore-cdk-cdktf-in-memory');
